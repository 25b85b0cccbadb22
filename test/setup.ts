/**
 * Global test setup. Property-based tests use one fixed seed so CI is reproducible; set FC_SEED to
 * explore others. fast-check prints the seed and the shrunk counterexample of any failure.
 */
import fc from 'fast-check';

const seed = Number(process.env.FC_SEED ?? 20260401);
fc.configureGlobal({ seed, numRuns: 200 });
