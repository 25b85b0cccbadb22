/**
 * The trading pipeline stack: DynamoDB tables, kill switch, alerts, API-key secret, six Lambdas, the
 * Step Functions state machine (deployed from the ASL file), the weekday schedule and its alarms.
 *
 * Environment-agnostic (no lookups): `cdk synth` works offline, and the template deploys to any
 * account/region the CLI credentials point at.
 */
import * as fs from 'node:fs';
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps, TimeZone, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct, IConstruct } from 'constructs';
import { PARTITION_KEY, SORT_KEY, TABLES, type TableKey } from '../lambdas/adapters/dynamodb/tables';
import { resolveAlpacaEndpoint } from '../lambdas/adapters/broker/alpaca/config';
import { ENV } from '../lambdas/wiring/env';
import { PipelineFunction } from './pipeline-function';
import { LAMBDA_CALENDAR_FILE, LAMBDA_DATA_DIR, STATE_MACHINE_ASL_FILE } from './paths';
import { type PipelineConfig, readPipelineConfig } from './stack-config';

/** Name of the kill-switch SSM parameter (value ARMED | REDUCE_ONLY | HALTED). */
export const KILL_SWITCH_PARAMETER_NAME = '/trading-pipeline/kill-switch';
/** Value the kill switch is created with: nothing trades until the owner arms it. */
export const KILL_SWITCH_INITIAL_VALUE = 'HALTED';
/** Values the kill switch accepts (SSM rejects anything else). */
export const KILL_SWITCH_ALLOWED_PATTERN = '^(ARMED|REDUCE_ONLY|HALTED)$';
/** Name of the Secrets Manager secret holding the third-party API keys. */
export const API_KEYS_SECRET_NAME = 'trading-pipeline/api-keys';
/** Keys of the API-key secret's JSON object (values are filled in by the owner in the console). */
export const API_KEY_NAMES = ['APCA_API_KEY_ID', 'APCA_API_SECRET_KEY', 'ALPHAVANTAGE_API_KEY'] as const;
/** POWERTOOLS_SERVICE_NAME of every function. */
export const SERVICE_NAME = 'trading-pipeline';
/** Input of every scheduled execution (the handlers tell scheduled runs from manual ones by it). */
export const SCHEDULE_INPUT = { source: 'schedule' } as const;

/** Access levels a function can be granted on a table. */
export type TableAccess = 'read' | 'readWrite';

/** What one pipeline function is and what it may touch. */
export interface FunctionSpec {
  /** Construct id; also the ASL placeholder prefix (`${<id>FunctionArn}`). */
  readonly id: string;
  /** Handler file under lambdas/handlers, without extension. */
  readonly handlerFile: string;
  /** Lambda console description. */
  readonly description: string;
  /** Maximum run time of one invocation. */
  readonly timeout: Duration;
  /** MB. */
  readonly memorySize: number;
  /** Copy market data and the calendar into the asset. */
  readonly bundleData: boolean;
  /** Table grants; a table not listed is neither granted nor passed in the environment. */
  readonly tables: Partial<Record<TableKey, TableAccess>>;
  /** Read the kill-switch parameter. */
  readonly killSwitch: boolean;
  /** Publish to the alert topic. */
  readonly alerts: boolean;
  /** Read the API-key secret. */
  readonly apiKeys: boolean;
  /** Talks to the broker: gets BROKER, ALPACA_LIVE and (when set) APCA_API_BASE_URL. */
  readonly broker: boolean;
  /**
   * Loads the bars the run decides on: gets MARKET_DATA_SOURCE (and ALPHAVANTAGE_ADJUSTED); needs the
   * MarketDataCache table. With the paper broker and an API source, every `broker` function gets them
   * too (the paper broker fills on the same bars).
   */
  readonly marketData: boolean;
}

/**
 * The six pipeline functions and their least-privilege grants. The id order follows the state
 * machine (fetch → features → predict → risk-check → orders → cancel-verify).
 */
export const FUNCTION_SPECS: readonly FunctionSpec[] = [
  {
    id: 'Fetch',
    handlerFile: 'fetch',
    description: 'Takes the session slot run lock, then loads and validates the bars dated before the session.',
    timeout: Duration.minutes(5),
    memorySize: 1024,
    bundleData: true,
    tables: { runArtifacts: 'readWrite', tradingState: 'readWrite', marketDataCache: 'readWrite' },
    killSwitch: false,
    alerts: true,
    apiKeys: true,
    broker: true,
    marketData: true,
  },
  {
    id: 'Features',
    handlerFile: 'features',
    description: 'Computes per-symbol features (SMA, RSI, ATR, return, volatility) for the run.',
    timeout: Duration.minutes(2),
    memorySize: 1024,
    bundleData: false,
    tables: { runArtifacts: 'readWrite' },
    killSwitch: false,
    alerts: false,
    apiKeys: false,
    broker: false,
    marketData: false,
  },
  {
    id: 'Predict',
    handlerFile: 'predict',
    description: 'Ranks symbols by the baseline momentum score.',
    timeout: Duration.minutes(2),
    memorySize: 512,
    bundleData: false,
    tables: { runArtifacts: 'readWrite' },
    killSwitch: false,
    alerts: false,
    apiKeys: false,
    broker: false,
    marketData: false,
  },
  {
    id: 'RiskCheck',
    handlerFile: 'risk-check',
    description: 'Reconciles ledger and broker, then applies the kill switch, trading state and risk limits.',
    timeout: Duration.minutes(3),
    memorySize: 512,
    bundleData: true,
    tables: { runArtifacts: 'readWrite', orderLedger: 'readWrite', tradingState: 'readWrite', riskAudit: 'readWrite' },
    killSwitch: true,
    alerts: true,
    apiKeys: true,
    broker: true,
    marketData: false,
  },
  {
    id: 'Orders',
    handlerFile: 'orders',
    description: 'Records each order intent in the ledger, then submits it to the broker idempotently.',
    timeout: Duration.minutes(2),
    memorySize: 512,
    bundleData: true,
    // Writes its ORDERS artifact (what it placed) next to the run's other artifacts.
    tables: { runArtifacts: 'readWrite', orderLedger: 'readWrite', tradingState: 'readWrite' },
    killSwitch: true,
    alerts: true,
    apiKeys: true,
    broker: true,
    marketData: false,
  },
  {
    id: 'CancelVerify',
    handlerFile: 'cancel-verify',
    description: 'After the close: syncs fills, cancels stale entries and reconciles positions.',
    timeout: Duration.minutes(2),
    memorySize: 512,
    bundleData: true,
    // Writes VERIFICATION and DRIFT; reads the session's bars for the drift's backtest fills.
    tables: { runArtifacts: 'readWrite', orderLedger: 'readWrite', tradingState: 'readWrite' },
    killSwitch: false,
    alerts: true,
    apiKeys: true,
    broker: true,
    marketData: true,
  },
];

/** Options of {@link TradingPipelineStack}; anything not given is read from CDK context. */
export interface TradingPipelineStackProps extends StackProps {
  /** Deploy-time options; default: {@link readPipelineConfig} on the stack's context. */
  readonly config?: PipelineConfig;
}

/**
 * The whole pipeline in one stack.
 *
 * @throws ConfigError (from {@link readPipelineConfig}) on malformed context values.
 * @throws Error if the ASL file's `${...}` placeholders and the stack's substitutions differ.
 */
export class TradingPipelineStack extends Stack {
  /** Tables by TABLES key. */
  readonly tables: Record<TableKey, dynamodb.Table>;
  /** The kill-switch parameter. */
  readonly killSwitch: ssm.StringParameter;
  /** Alert topic (KMS-encrypted, TLS-only). */
  readonly alertTopic: sns.Topic;
  /** Third-party API keys (JSON object). */
  readonly apiKeys: secretsmanager.Secret;
  /** Pipeline functions by spec id (Fetch, Features, ...). */
  readonly functions: Record<string, PipelineFunction>;
  /** The pipeline state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** Dead-letter queue of the schedule. */
  readonly scheduleDlq: sqs.Queue;
  /** The weekday schedule. */
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: TradingPipelineStackProps = {}) {
    super(scope, id, {
      description: 'Scheduled trading pipeline: Step Functions + Lambda + DynamoDB; paper broker or Alpaca (context broker).',
      ...props,
    });
    const config = props.config ?? readPipelineConfig(this.node);

    this.tables = this.createTables();
    this.killSwitch = this.createKillSwitch();
    this.alertTopic = this.createAlertTopic(config);
    this.apiKeys = this.createApiKeysSecret();
    this.functions = this.createFunctions(config);
    this.stateMachine = this.createStateMachine();
    this.scheduleDlq = this.createScheduleDlq();
    this.schedule = this.createSchedule(config);
    this.createAlarms();
    this.addNagSuppressions();

    new CfnOutput(this, 'StateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'ARN of the trading pipeline state machine.',
    });
    new CfnOutput(this, 'AlertTopicArn', {
      value: this.alertTopic.topicArn,
      description: 'SNS topic receiving pipeline alerts and alarms.',
    });
    new CfnOutput(this, 'Broker', {
      value: describeBroker(config),
      description: 'Broker the risk-check, orders and cancel-verify functions trade with (context broker, alpacaBaseUrl, alpacaLive).',
    });
    new CfnOutput(this, 'ApiKeysSecretName', {
      value: API_KEYS_SECRET_NAME,
      description: `Secrets Manager secret to fill in with ${API_KEY_NAMES.join(', ')}.`,
    });
  }

  /** One table per TABLES entry: pk/sk strings, on-demand, PITR on, TTL and retention as described. */
  private createTables(): Record<TableKey, dynamodb.Table> {
    const entries = (Object.keys(TABLES) as TableKey[]).map((key) => {
      const spec: (typeof TABLES)[TableKey] = TABLES[key];
      const table = new dynamodb.Table(this, spec.id, {
        partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
        sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: 'ttlAttribute' in spec ? spec.ttlAttribute : undefined,
        removalPolicy: spec.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        // The retained table (the order ledger) also refuses API deletion.
        deletionProtection: spec.retain,
      });
      return [key, table] as const;
    });
    return Object.fromEntries(entries) as Record<TableKey, dynamodb.Table>;
  }

  /**
   * The kill switch. Created HALTED; CloudFormation only writes the value when the parameter
   * resource itself changes, so arming it in the console survives later deploys (a change to
   * this resource's properties would reset it to HALTED, which fails safe).
   */
  private createKillSwitch(): ssm.StringParameter {
    const parameter = new ssm.StringParameter(this, 'KillSwitch', {
      parameterName: KILL_SWITCH_PARAMETER_NAME,
      stringValue: KILL_SWITCH_INITIAL_VALUE,
      allowedPattern: KILL_SWITCH_ALLOWED_PATTERN,
      tier: ssm.ParameterTier.STANDARD,
      description:
        'Trading kill switch: ARMED = trade, REDUCE_ONLY = only exits, HALTED = no orders. Starts HALTED; ' +
        `arm with: aws ssm put-parameter --name ${KILL_SWITCH_PARAMETER_NAME} --value ARMED --overwrite`,
    });
    new CfnOutput(this, 'KillSwitchParameterName', {
      value: parameter.parameterName,
      description: 'SSM parameter of the kill switch (ARMED | REDUCE_ONLY | HALTED).',
    });
    new CfnOutput(this, 'KillSwitchConsoleUrl', {
      value: `https://console.aws.amazon.com/systems-manager/parameters${KILL_SWITCH_PARAMETER_NAME}/description?region=${this.region}`,
      description: 'Console page of the kill switch (Edit, set the value to ARMED to start trading).',
    });
    return parameter;
  }

  /**
   * Alert topic, encrypted with a customer-managed key (rotation on) and TLS-only.
   *
   * Key policy: the default statement lets IAM policies of this account grant use of the key (the
   * Lambda and state-machine roles get kms:Decrypt/GenerateDataKey through `grantPublish`); an
   * extra statement lets CloudWatch alarms (the cloudwatch.amazonaws.com service, which has no role
   * here) encrypt the messages they publish.
   */
  private createAlertTopic(config: PipelineConfig): sns.Topic {
    const key = new kms.Key(this, 'AlertTopicKey', {
      description: 'Encrypts the trading pipeline alert topic.',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    const topic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'Trading pipeline alerts',
      masterKey: key,
      enforceSSL: true,
    });
    // CloudWatch alarms of this account may publish (the topic policy replaces SNS's default one).
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': this.account },
        },
      }),
    );

    if (config.alertEmail !== undefined) {
      topic.addSubscription(new subscriptions.EmailSubscription(config.alertEmail));
    }
    if (config.alertPhone !== undefined) {
      topic.addSubscription(new subscriptions.SmsSubscription(config.alertPhone));
    }
    return topic;
  }

  /**
   * The API-key secret: a JSON object with empty values. The owner fills them in the console; the
   * template never holds a real key.
   */
  private createApiKeysSecret(): secretsmanager.Secret {
    return new secretsmanager.Secret(this, 'ApiKeys', {
      secretName: API_KEYS_SECRET_NAME,
      description: `Third-party API keys (${API_KEY_NAMES.join(', ')}); fill in the values in the console.`,
      secretObjectValue: Object.fromEntries(API_KEY_NAMES.map((name) => [name, SecretValue.unsafePlainText('')])),
      // Keep the keys the owner entered if the stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The six functions, each with exactly the grants and environment of its spec. */
  private createFunctions(config: PipelineConfig): Record<string, PipelineFunction> {
    const result: Record<string, PipelineFunction> = {};
    for (const spec of FUNCTION_SPECS) {
      const environment: Record<string, string> = {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      };
      if (config.strategyConfig !== undefined) environment[ENV.strategyConfig] = config.strategyConfig;
      // The paper broker fills on the bars of the source the run decides on: with an API source,
      // every function that builds it reads (and caches) the same bars as fetch.
      const readsBars = spec.marketData || (spec.broker && config.broker === 'paper' && config.marketDataSource !== 'csv');
      const tables: FunctionSpec['tables'] =
        readsBars && spec.tables.marketDataCache === undefined ? { ...spec.tables, marketDataCache: 'readWrite' } : spec.tables;
      if (spec.bundleData) {
        environment[ENV.dataDir] = LAMBDA_DATA_DIR;
        environment[ENV.calendarFile] = LAMBDA_CALENDAR_FILE;
      }
      for (const key of Object.keys(tables) as TableKey[]) {
        environment[TABLES[key].envVar] = this.tables[key].tableName;
      }
      if (spec.killSwitch) environment[ENV.killSwitchParameter] = this.killSwitch.parameterName;
      if (spec.alerts) environment[ENV.alertTopicArn] = this.alertTopic.topicArn;
      if (spec.apiKeys) environment[ENV.apiKeysSecretArn] = this.apiKeys.secretArn;
      if (spec.broker) Object.assign(environment, brokerEnvironment(config));
      if (readsBars) Object.assign(environment, marketDataEnvironment(config));

      const fn = new PipelineFunction(this, spec.id, {
        handlerFile: spec.handlerFile,
        description: spec.description,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        bundleData: spec.bundleData,
        environment,
      });

      for (const [key, access] of Object.entries(tables) as [TableKey, TableAccess][]) {
        if (access === 'readWrite') this.tables[key].grantReadWriteData(fn.function);
        else this.tables[key].grantReadData(fn.function);
      }
      if (spec.killSwitch) this.killSwitch.grantRead(fn.function);
      if (spec.alerts) this.alertTopic.grantPublish(fn.function);
      if (spec.apiKeys) this.apiKeys.grantRead(fn.function);
      result[spec.id] = fn;
    }
    return result;
  }

  /**
   * The state machine, deployed from the ASL file with each placeholder substituted. Checks at synth
   * time that the file's placeholders and the substitutions match exactly.
   */
  private createStateMachine(): sfn.StateMachine {
    const substitutions: Record<string, string> = { AlertTopicArn: this.alertTopic.topicArn };
    for (const spec of FUNCTION_SPECS) {
      substitutions[`${spec.id}FunctionArn`] = this.functions[spec.id]!.function.functionArn;
    }
    assertSubstitutionsMatch(fs.readFileSync(STATE_MACHINE_ASL_FILE, 'utf8'), substitutions);

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(STATE_MACHINE_ASL_FILE),
      definitionSubstitutions: substitutions,
      comment: 'Daily trading pipeline (definition: state-machines/trading-pipeline.asl.json).',
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });

    // Invoke exactly the six unqualified function ARNs the ASL uses. (grantInvoke would also allow
    // `<arn>:*`, every version and alias, which the definition never calls.)
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: FUNCTION_SPECS.map((spec) => this.functions[spec.id]!.function.functionArn),
      }),
    );
    // The NotifyFailure state publishes to the alert topic.
    this.alertTopic.grantPublish(stateMachine);
    return stateMachine;
  }

  /** Dead-letter queue for schedule deliveries that could not start an execution. */
  private createScheduleDlq(): sqs.Queue {
    return new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
  }

  /**
   * Weekday schedule at the configured New York time (default 09:45: inside the 09:35–15:55 entry window).
   * No flexible window, two retries within 15 minutes, then the event goes to the DLQ (alarmed): a
   * missed slot must never start hours late.
   */
  private createSchedule(config: PipelineConfig): scheduler.Schedule {
    return new scheduler.Schedule(this, 'DailySchedule', {
      description: `Starts the trading pipeline Mon-Fri at ${pad2(config.scheduleHour)}:${pad2(config.scheduleMinute)} America/New_York.`,
      schedule: scheduler.ScheduleExpression.cron({
        minute: String(config.scheduleMinute),
        hour: String(config.scheduleHour),
        weekDay: 'MON-FRI',
        timeZone: TimeZone.AMERICA_NEW_YORK,
      }),
      timeWindow: scheduler.TimeWindow.off(),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULE_INPUT),
        retryAttempts: 2,
        maxEventAge: Duration.minutes(15),
        deadLetterQueue: this.scheduleDlq,
      }),
    });
  }

  /** Alarms to the alert topic: a schedule delivery dead-lettered, an execution failed or timed out. */
  private createAlarms(): void {
    const action = new cwActions.SnsAction(this.alertTopic);
    const period = Duration.minutes(5);
    /** Fires when the metric is above zero in any 5-minute period; no data is not a breach. */
    const alarmOnAny = (id: string, alarmDescription: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action);
    alarmOnAny(
      'ScheduleDlqAlarm',
      'A scheduled run could not start the state machine (event in the schedule DLQ).',
      this.scheduleDlq.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
    );
    alarmOnAny('ExecutionsFailedAlarm', 'A trading pipeline execution failed.', this.stateMachine.metricFailed({ period, statistic: cloudwatch.Stats.SUM }));
    alarmOnAny('ExecutionsTimedOutAlarm', 'A trading pipeline execution timed out.', this.stateMachine.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM }));
  }

  /**
   * cdk-nag (AwsSolutions) findings that are accepted, each with its reason (cdk-nag v3: CDK's
   * `Validations.of(construct).acknowledge`). Each acknowledgment is scoped to the construct that
   * owns the finding and, for IAM5, to the exact wildcard (`AwsSolutions-IAM5[<finding>]`).
   */
  private addNagSuppressions(): void {
    const xrayReason =
      'X-Ray trace submission (xray:PutTraceSegments, xray:PutTelemetryRecords, and for Step Functions ' +
      'xray:GetSamplingRules/GetSamplingTargets) does not support resource-level permissions; AWS requires ' +
      'Resource "*". CDK adds these for active tracing.';
    const kmsReason =
      'kms:GenerateDataKey* is added by SNS Topic.grantPublish for the KMS-encrypted alert topic; it is scoped to ' +
      'that single customer-managed key ARN, and publishing to an encrypted topic needs GenerateDataKey.';

    for (const spec of FUNCTION_SPECS) {
      const role = this.functions[spec.id]!.role;
      acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', xrayReason);
      if (spec.alerts) acknowledge(role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', kmsReason);
    }

    acknowledge(
      this.stateMachine,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions logging to CloudWatch Logs needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, ' +
        'DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups, ' +
        'which only accept Resource "*" (vended log delivery). ' +
        xrayReason,
    );
    acknowledge(this.stateMachine, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', kmsReason);

    acknowledge(
      this.scheduleDlq,
      'AwsSolutions-SQS3',
      'This queue IS the dead-letter queue of the EventBridge schedule; a dead-letter queue of a dead-letter queue ' +
        'would have no consumer. Messages here raise the ScheduleDlqAlarm.',
    );
    acknowledge(
      this.apiKeys,
      'AwsSolutions-SMG4',
      'The secret holds third-party API keys (Alpaca, Alpha Vantage) issued by those providers; Secrets Manager ' +
        'cannot rotate them. The owner rotates them at the provider and updates the secret.',
    );
  }
}

/**
 * The broker variables of a function that talks to the broker: BROKER, ALPACA_LIVE (`true` only when
 * the owner deployed with alpacaLive=true) and APCA_API_BASE_URL when a base URL was given. The keys
 * themselves stay in the API-key secret.
 */
export function brokerEnvironment(config: Pick<PipelineConfig, 'broker' | 'alpacaBaseUrl' | 'alpacaLive'>): Record<string, string> {
  return {
    [ENV.broker]: config.broker,
    [ENV.alpacaLive]: config.alpacaLive ? 'true' : 'false',
    ...(config.alpacaBaseUrl !== undefined ? { [ENV.alpacaBaseUrl]: config.alpacaBaseUrl } : {}),
  };
}

/**
 * The market-data variables of the function that loads bars: MARKET_DATA_SOURCE (default `csv`) and,
 * for Alpha Vantage's adjusted series, ALPHAVANTAGE_ADJUSTED=true. The keys stay in the API-key secret.
 */
export function marketDataEnvironment(config: Pick<PipelineConfig, 'marketDataSource' | 'alphaVantageAdjusted'>): Record<string, string> {
  return {
    [ENV.marketDataSource]: config.marketDataSource,
    ...(config.alphaVantageAdjusted ? { [ENV.alphaVantageAdjusted]: 'true' } : {}),
  };
}

/** One line for the Broker output: which broker and endpoint the deployed functions trade with. */
export function describeBroker(config: Pick<PipelineConfig, 'broker' | 'alpacaBaseUrl' | 'alpacaLive'> & Partial<Pick<PipelineConfig, 'marketDataSource'>>): string {
  if (config.broker === 'paper') {
    const bars = (config.marketDataSource ?? 'csv') === 'csv' ? 'the bundled daily bars' : `${config.marketDataSource} daily bars`;
    return `paper (simulated account in DynamoDB, fills on ${bars})`;
  }
  const { baseUrl, mode } = resolveAlpacaEndpoint({ baseUrl: config.alpacaBaseUrl, live: config.alpacaLive });
  return `alpaca ${mode === 'live' ? 'LIVE (real money)' : mode} at ${baseUrl}; keys from the ${API_KEYS_SECRET_NAME} secret`;
}

/** Acknowledges (suppresses) one cdk-nag rule or finding on a construct and its children, with a reason. */
function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Checks the ASL text's `${Name}` placeholders are exactly the substitution keys.
 *
 * @param aslText the ASL file contents.
 * @param substitutions placeholder name → value.
 * @throws Error naming the placeholders without a substitution and the substitutions without a
 *   placeholder, if either set is non-empty.
 */
export function assertSubstitutionsMatch(aslText: string, substitutions: Record<string, string>): void {
  const placeholders = new Set([...aslText.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!));
  const keys = new Set(Object.keys(substitutions));
  const missing = [...placeholders].filter((p) => !keys.has(p));
  const unused = [...keys].filter((k) => !placeholders.has(k));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `ASL placeholders and definitionSubstitutions differ: no substitution for [${missing.join(', ')}], ` +
        `no placeholder for [${unused.join(', ')}]`,
    );
  }
}

/** Two-digit zero-padded number (for the schedule description). */
function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
