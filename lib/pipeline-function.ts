/**
 * One pipeline Lambda: a `NodejsFunction` bundled locally by esbuild into a single ESM file, with its
 * own execution role (no AWS managed policies) and its own log group.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLED_DATA_DIRS, HANDLERS_DIR, LOCK_FILE, REPO_ROOT } from './paths';

/**
 * Defines `require` in the ESM bundle. esbuild's ESM output calls `require` for CommonJS
 * dependencies that load Node built-ins; Node ESM has no `require`, so one is created from the
 * bundle's own URL.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __pipelineCreateRequire } from 'node:module'; const require = __pipelineCreateRequire(import.meta.url);";

/** How long Lambda logs are kept. One year covers a full tax/audit cycle of trading decisions. */
export const LAMBDA_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/** Options for {@link PipelineFunction}. */
export interface PipelineFunctionProps {
  /** Handler file name under lambdas/handlers without extension, e.g. `risk-check`. Must export `handler`. */
  readonly handlerFile: string;
  /** Human-readable description shown in the Lambda console. */
  readonly description: string;
  /** Maximum run time of one invocation. */
  readonly timeout: Duration;
  /** Memory, MB (CPU scales with it). */
  readonly memorySize: number;
  /**
   * Copy `data/daily` and `data/calendars` into the asset (`/var/task/data/...`), for functions that
   * read market data or the session calendar.
   */
  readonly bundleData: boolean;
  /** Environment variables (name → value); tokens allowed. */
  readonly environment: Record<string, string>;
}

/**
 * A pipeline Lambda function (Node.js 24, arm64, X-Ray active) with a dedicated role and log group.
 *
 * The role starts with no permissions except writing to its own log group and X-Ray; the stack adds
 * each data-plane grant explicitly (least privilege).
 */
export class PipelineFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** Execution role (trusts lambda.amazonaws.com only). */
  readonly role: iam.Role;
  /** Log group the function writes to; retention {@link LAMBDA_LOG_RETENTION}, kept on stack deletion. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: LAMBDA_LOG_RETENTION,
      // Logs are the audit trail of what the pipeline decided and ordered: keep them if the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // A dedicated role instead of the default one, which would attach the AWS managed
    // AWSLambdaBasicExecutionRole (logs:CreateLogGroup etc. on every log group in the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the trading pipeline ${props.handlerFile} Lambda`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(HANDLERS_DIR, `${props.handlerFile}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        // esbuild from node_modules, never Docker: synth works offline and on machines without Docker.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // The Node.js 24 runtime ships AWS SDK v3.
        externalModules: ['@aws-sdk/*'],
        minify: true,
        sourceMap: true,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string): string[] =>
            props.bundleData ? copyDataCommands(inputDir, outputDir) : [],
        },
      },
    });
  }
}

/**
 * Shell commands copying the bundled data directories from the repository (`inputDir`) into the
 * asset (`outputDir`), keeping their repository-relative paths (`data/daily`, `data/calendars`).
 */
function copyDataCommands(inputDir: string, outputDir: string): string[] {
  return BUNDLED_DATA_DIRS.flatMap((dir) => {
    const target = path.posix.join(outputDir, dir);
    return [`mkdir -p "${target}"`, `cp -R "${path.posix.join(inputDir, dir)}/." "${target}/"`];
  });
}
