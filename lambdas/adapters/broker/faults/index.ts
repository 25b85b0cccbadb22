/** Seeded fault injection for broker adapters: see fault-injecting-broker.ts and profiles.ts. */
export * from './fault-injecting-broker';
export * from './profiles';
