/**
 * CDK assertions on the TradingPipeline stack. The stack is synthesized for real (esbuild bundles
 * the six handlers, the data is copied into the assets, the cdk-nag AwsSolutions plugin runs), without
 * context, with the optional context, and with broker=alpaca, in temporary output directories.
 *
 * The App gets the `context` block of cdk.json (feature flags), so the tested template is the one
 * `cdk synth` produces.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES, type TableKey } from '../../lambdas/adapters/dynamodb/tables';
import { ENV } from '../../lambdas/wiring/env';
import { readPipelineConfig } from '../../lib/stack-config';
import { FUNCTION_SPECS, TradingPipelineStack } from '../../lib/trading-pipeline-stack';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ASL_FILE = path.join(ROOT, 'state-machines', 'trading-pipeline.asl.json');
const HANDLERS_DIR = path.join(ROOT, 'lambdas', 'handlers');
const CDK_JSON_CONTEXT = (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

/** The handler files that must each become one function (lambdas/handlers/<name>.ts). */
const HANDLER_FILES = ['cancel-verify', 'features', 'fetch', 'orders', 'predict', 'risk-check'];
/** Handler files whose functions read market data / the calendar and so carry `data/` in the asset. */
const DATA_HANDLERS = ['fetch', 'risk-check', 'orders', 'cancel-verify'];
/** Handler files whose functions talk to the broker and so get BROKER / ALPACA_LIVE / APCA_API_BASE_URL. */
const BROKER_HANDLERS = ['fetch', 'risk-check', 'orders', 'cancel-verify']; // fetch reads the broker's calendar

interface Built {
  readonly stack: TradingPipelineStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
  readonly nag: AwsSolutionsChecks;
  readonly outdir: string;
}

const outdirs: string[] = [];

/**
 * Builds and synthesizes the stack in a fresh App with the cdk-nag plugin registered, as lib/app.ts
 * does. `app.synth()` itself throws if the plugin reports an unacknowledged finding.
 */
function build(extraContext: Record<string, unknown> = {}): Built {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trading-pipeline-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, ...extraContext } });
  const nag = new AwsSolutionsChecks(app, { verbose: true });
  Validations.of(app).addPlugins(nag);
  const stack = new TradingPipelineStack(app, 'TradingPipeline');
  const assembly = app.synth();
  return { stack, template: Template.fromStack(stack), assembly, nag, outdir };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, any>; [k: string]: any };

/** The pipeline functions (one per handler file), keyed by handler file name. */
function pipelineFunctions(built: Built): Record<string, { id: string; resource: Resource }> {
  const all = built.template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
  const result: Record<string, { id: string; resource: Resource }> = {};
  for (const spec of FUNCTION_SPECS) {
    const id = logicalId(built.stack, built.stack.functions[spec.id]!.function);
    if (all[id]) result[spec.handlerFile] = { id, resource: all[id]! };
  }
  return result;
}

/** The IAM policy documents attached to a function's execution role, as JSON text. */
function rolePolicyText(built: Built, handlerFile: string): string {
  const fn = pipelineFunctions(built)[handlerFile]!;
  const roleId: string = fn.resource.Properties.Role['Fn::GetAtt'][0];
  const policies = built.template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  }) as Record<string, Resource>;
  expect(Object.keys(policies).length).toBeGreaterThan(0);
  return JSON.stringify(Object.values(policies).map((p) => p.Properties.PolicyDocument));
}

describe('TradingPipelineStack', { timeout: 180_000 }, () => {
  let base: Built;
  let withContext: Built;
  let withAlpaca: Built;

  beforeAll(() => {
    base = build();
    withContext = build({
      alertEmail: 'a@example.com',
      alertPhone: '+15555550123',
      scheduleHour: '8',
      scheduleMinute: '30',
      strategyConfig: '{"riskPerTrade":0.004}',
    });
    withAlpaca = build({ broker: 'alpaca' });
  }, 180_000);

  afterAll(() => {
    for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('schedule', () => {
    it('starts the state machine Mon-Fri at 09:45 New York time (inside the 09:35-15:55 trade window), no flexible window, bounded retries, DLQ', () => {
      const dlqId = logicalId(base.stack, base.stack.scheduleDlq);
      const smId = logicalId(base.stack, base.stack.stateMachine);
      base.template.resourceCountIs('AWS::Scheduler::Schedule', 1);
      base.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(45 9 ? * MON-FRI *)',
        ScheduleExpressionTimezone: 'America/New_York',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: { Ref: smId },
          Input: JSON.stringify({ source: 'schedule' }),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
        },
      });
    });

    it('has an encrypted, TLS-only dead-letter queue kept 14 days', () => {
      base.template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      base.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('takes hour and minute from context', () => {
      withContext.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(30 8 ? * MON-FRI *)',
        ScheduleExpressionTimezone: 'America/New_York',
      });
    });
  });

  describe('functions', () => {
    it('has exactly one function per handler file (six), Node.js 24 on arm64 with active tracing', () => {
      for (const name of HANDLER_FILES) expect(fs.existsSync(path.join(HANDLERS_DIR, `${name}.ts`)), name).toBe(true);
      const fns = pipelineFunctions(base);
      expect(Object.keys(fns).sort()).toEqual(HANDLER_FILES);
      const pipelineIds = new Set(Object.values(fns).map((f) => f.id));
      // Other functions (CDK-internal singletons) would be ignored; the six must all match.
      const matching = Object.keys(
        base.template.findResources('AWS::Lambda::Function', {
          Properties: { Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } },
        }),
      ).filter((id) => pipelineIds.has(id));
      expect(matching).toHaveLength(6);
      for (const { resource } of Object.values(fns)) {
        expect(resource.Properties.Handler).toBe('index.handler');
        expect(resource.Properties.LoggingConfig?.LogGroup).toBeDefined();
        expect(resource.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      }
    });

    it('sets timeouts (s) and memory (MB): fetch 300/1024, features 120/1024, risk-check 180/512 (it reconciles), others 120/512', () => {
      const fns = pipelineFunctions(base);
      const actual = Object.fromEntries(
        Object.entries(fns).map(([name, f]) => [name, [f.resource.Properties.Timeout, f.resource.Properties.MemorySize]]),
      );
      expect(actual).toEqual({
        fetch: [300, 1024],
        features: [120, 1024],
        predict: [120, 512],
        'risk-check': [180, 512],
        orders: [120, 512],
        'cancel-verify': [120, 512],
      });
    });

    it('bundles ESM with a createRequire banner, and copies data/ only into the functions that read it', () => {
      const fns = pipelineFunctions(base);
      for (const [name, { resource }] of Object.entries(fns)) {
        const key: string = resource.Properties.Code.S3Key;
        const assetDir = path.join(base.assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
        const code = fs.readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
        expect(code.split('\n')[0]).toMatch(/const require = \w*createRequire\(import\.meta\.url\)/i);
        expect(fs.existsSync(path.join(assetDir, 'index.mjs.map'))).toBe(true);
        const calendar = path.join(assetDir, 'data', 'calendars', 'xnys-sessions-1990-2023.csv');
        const spy = path.join(assetDir, 'data', 'daily', 'SPY.csv');
        const expectData = DATA_HANDLERS.includes(name);
        expect({ name, calendar: fs.existsSync(calendar), spy: fs.existsSync(spy) }).toEqual({
          name,
          calendar: expectData,
          spy: expectData,
        });
        const env = resource.Properties.Environment.Variables;
        expect(env[ENV.dataDir]).toBe(expectData ? '/var/task/data/daily' : undefined);
        expect(env[ENV.calendarFile]).toBe(expectData ? '/var/task/data/calendars/xnys-sessions-1990-2023.csv' : undefined);
      }
    });

    it('passes only the environment of granted resources', () => {
      const fns = pipelineFunctions(base);
      const envKeys = (name: string) => Object.keys(fns[name]!.resource.Properties.Environment.Variables).sort();
      const common = ['NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME'];
      expect(envKeys('features')).toEqual([...common, TABLES.runArtifacts.envVar].sort());
      expect(envKeys('predict')).toEqual([...common, TABLES.runArtifacts.envVar].sort());
      expect(envKeys('orders')).toEqual(
        [
          ...common,
          ENV.broker,
          ENV.alpacaLive,
          ENV.dataDir,
          ENV.calendarFile,
          TABLES.runArtifacts.envVar,
          TABLES.orderLedger.envVar,
          TABLES.tradingState.envVar,
          ENV.killSwitchParameter,
          ENV.alertTopicArn,
          ENV.apiKeysSecretArn,
        ].sort(),
      );
      expect(envKeys('cancel-verify')).not.toContain(ENV.killSwitchParameter);
      // Fetch takes the session slot's run lock; risk-check reconciles the ledger before deciding.
      expect(envKeys('fetch')).toContain(TABLES.tradingState.envVar);
      expect(envKeys('fetch')).not.toContain(TABLES.orderLedger.envVar);
      // Fetch loads the bars it decides on, and cancel-verify the session's bars for the drift's
      // backtest fills: the source (csv by default) and the bar cache table. No other step reads bars.
      for (const name of ['fetch', 'cancel-verify']) {
        expect(envKeys(name)).toEqual(expect.arrayContaining([ENV.marketDataSource, TABLES.marketDataCache.envVar]));
      }
      expect(fns.fetch!.resource.Properties.Environment.Variables[ENV.marketDataSource]).toBe('csv');
      for (const name of ['features', 'predict', 'risk-check', 'orders']) {
        expect(envKeys(name)).not.toContain(ENV.marketDataSource);
        expect(envKeys(name)).not.toContain(TABLES.marketDataCache.envVar);
      }
      expect(envKeys('risk-check')).toContain(TABLES.orderLedger.envVar);
      for (const { resource } of Object.values(fns)) {
        const env = resource.Properties.Environment.Variables;
        expect(env.POWERTOOLS_SERVICE_NAME).toBe('trading-pipeline');
        expect(env[ENV.strategyConfig]).toBeUndefined();
      }
    });

    it('by default the functions that talk to the broker get BROKER=paper and ALPACA_LIVE=false; no other function gets broker settings', () => {
      const fns = pipelineFunctions(base);
      for (const [handlerFile, { resource }] of Object.entries(fns)) {
        const env = resource.Properties.Environment.Variables;
        expect(env[ENV.alpacaBaseUrl], handlerFile).toBeUndefined();
        if (BROKER_HANDLERS.includes(handlerFile)) {
          expect(env[ENV.broker], handlerFile).toBe('paper');
          expect(env[ENV.alpacaLive], handlerFile).toBe('false');
        } else {
          expect(env[ENV.broker], handlerFile).toBeUndefined();
          expect(env[ENV.alpacaLive], handlerFile).toBeUndefined();
        }
      }
      expect(Object.values(fns).some(({ resource }) => resource.Properties.Environment.Variables[ENV.alpacaLive] === 'true')).toBe(false);
      base.template.hasOutput('Broker', { Value: Match.stringLikeRegexp('^paper ') });
    });

    it('with context broker=alpaca, fetch (calendar), risk-check, orders and cancel-verify get BROKER=alpaca (paper endpoint, not live)', () => {
      const fns = pipelineFunctions(withAlpaca);
      for (const handlerFile of BROKER_HANDLERS) {
        const env = fns[handlerFile]!.resource.Properties.Environment.Variables;
        expect(env[ENV.broker], handlerFile).toBe('alpaca');
        expect(env[ENV.alpacaLive], handlerFile).toBe('false');
        expect(env[ENV.alpacaBaseUrl], handlerFile).toBeUndefined();
        expect(env[ENV.apiKeysSecretArn], handlerFile).toBeDefined();
      }
      for (const handlerFile of ['features', 'predict']) {
        expect(fns[handlerFile]!.resource.Properties.Environment.Variables[ENV.broker], handlerFile).toBeUndefined();
      }
      withAlpaca.template.hasOutput('Broker', { Value: Match.stringLikeRegexp('^alpaca paper at https://paper-api\\.alpaca\\.markets') });
    });

    it('passes alpacaBaseUrl and alpacaLive=true to the broker functions when given', () => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trading-pipeline-cdk-'));
      outdirs.push(outdir);
      const stack = new TradingPipelineStack(new App({ outdir, context: { ...CDK_JSON_CONTEXT } }), 'LiveStack', {
        config: { ...readPipelineConfig(new App().node), broker: 'alpaca', alpacaBaseUrl: 'https://api.alpaca.markets', alpacaLive: true },
      });
      const template = Template.fromStack(stack);
      for (const spec of FUNCTION_SPECS.filter((s) => BROKER_HANDLERS.includes(s.handlerFile))) {
        const id = logicalId(stack, stack.functions[spec.id]!.function);
        const env = (template.findResources('AWS::Lambda::Function')[id] as Resource).Properties.Environment.Variables;
        expect(env).toMatchObject({ [ENV.broker]: 'alpaca', [ENV.alpacaLive]: 'true', [ENV.alpacaBaseUrl]: 'https://api.alpaca.markets' });
      }
      template.hasOutput('Broker', { Value: Match.stringLikeRegexp('^alpaca LIVE \\(real money\\) at https://api\\.alpaca\\.markets') });
    });

    it('with the paper broker and an API source, every broker function reads the same bars (source and cache table)', () => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trading-pipeline-cdk-'));
      outdirs.push(outdir);
      const base = readPipelineConfig(new App().node);
      const make = (broker: 'paper' | 'alpaca') => {
        const stack = new TradingPipelineStack(new App({ outdir, context: { ...CDK_JSON_CONTEXT } }), `Api${broker}`, {
          config: { ...base, broker, marketDataSource: 'alphavantage', strategyConfig: '{"universe":["AAPL"]}' },
        });
        const template = Template.fromStack(stack);
        const env = (handler: string) => {
          const spec = FUNCTION_SPECS.find((s) => s.handlerFile === handler)!;
          const id = logicalId(stack, stack.functions[spec.id]!.function);
          return (template.findResources('AWS::Lambda::Function')[id] as Resource).Properties.Environment.Variables as Record<string, string>;
        };
        return { template, env };
      };
      const paper = make('paper');
      for (const handler of ['fetch', ...BROKER_HANDLERS]) {
        expect(paper.env(handler)[ENV.marketDataSource], handler).toBe('alphavantage');
        expect(paper.env(handler)[TABLES.marketDataCache.envVar], handler).toBeDefined();
      }
      for (const handler of ['features', 'predict']) expect(paper.env(handler)[ENV.marketDataSource], handler).toBeUndefined();
      paper.template.hasOutput('Broker', { Value: 'paper (simulated account in DynamoDB, fills on alphavantage daily bars)' });
      // With Alpaca the broker has its own prices: only fetch reads bars, and cancel-verify the
      // session's bars (the drift's backtest fills, compared with Alpaca's).
      const alpaca = make('alpaca');
      for (const handler of ['fetch', 'cancel-verify']) expect(alpaca.env(handler)[ENV.marketDataSource], handler).toBe('alphavantage');
      for (const handler of BROKER_HANDLERS.filter((h) => h !== 'fetch' && h !== 'cancel-verify')) {
        expect(alpaca.env(handler)[ENV.marketDataSource], handler).toBeUndefined();
        expect(alpaca.env(handler)[TABLES.marketDataCache.envVar], handler).toBeUndefined();
      }
    });

    it('passes STRATEGY_CONFIG from context to every function', () => {
      for (const { resource } of Object.values(pipelineFunctions(withContext))) {
        expect(resource.Properties.Environment.Variables[ENV.strategyConfig]).toBe('{"riskPerTrade":0.004}');
      }
    });

    it('gives every function its own role without AWS managed policies', () => {
      for (const { resource } of Object.values(pipelineFunctions(base))) {
        const roleId: string = resource.Properties.Role['Fn::GetAtt'][0];
        const role = base.template.findResources('AWS::IAM::Role')[roleId] as Resource;
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('least privilege', () => {
    it('features can use RunArtifacts but not the order ledger, trading state, kill switch, topic or secret', () => {
      const text = rolePolicyText(base, 'features');
      expect(text).toContain(logicalId(base.stack, base.stack.tables.runArtifacts));
      expect(text).not.toContain(logicalId(base.stack, base.stack.tables.orderLedger));
      expect(text).not.toContain(logicalId(base.stack, base.stack.tables.tradingState));
      expect(text).not.toContain(logicalId(base.stack, base.stack.killSwitch));
      expect(text).not.toContain(logicalId(base.stack, base.stack.alertTopic));
      expect(text).not.toContain(logicalId(base.stack, base.stack.apiKeys));
      expect(text).not.toContain('ssm:');
    });

    it('orders can write the order ledger and its ORDERS artifact (a read-only grant failed the step after the orders went out)', () => {
      const ledgerArn = { 'Fn::GetAtt': [logicalId(base.stack, base.stack.tables.orderLedger), 'Arn'] };
      const artifactsArn = { 'Fn::GetAtt': [logicalId(base.stack, base.stack.tables.runArtifacts), 'Arn'] };
      const roleId: string = pipelineFunctions(base).orders!.resource.Properties.Role['Fn::GetAtt'][0];
      const policies = Object.values(
        base.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }) as Record<string, Resource>,
      );
      const statements: any[] = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
      const covers = (action: string, arn: object) =>
        statements.some(
          (s) =>
            s.Effect === 'Allow' &&
            [s.Action].flat().includes(action) &&
            [s.Resource].flat().some((r: unknown) => JSON.stringify(r) === JSON.stringify(arn)),
        );
      expect(covers('dynamodb:PutItem', ledgerArn)).toBe(true);
      expect(covers('dynamodb:UpdateItem', ledgerArn)).toBe(true);
      expect(covers('dynamodb:GetItem', artifactsArn)).toBe(true);
      expect(covers('dynamodb:PutItem', artifactsArn)).toBe(true);
    });

    it('the state machine may invoke exactly the six unqualified function ARNs and publish alerts', () => {
      const smRoleId = (base.template.findResources('AWS::StepFunctions::StateMachine')[
        logicalId(base.stack, base.stack.stateMachine)
      ] as Resource).Properties.RoleArn['Fn::GetAtt'][0];
      const policies = Object.values(
        base.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: smRoleId }] } }) as Record<string, Resource>,
      );
      const statements: any[] = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
      const invoke = statements.filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
      const resources = invoke.flatMap((s) => [s.Resource].flat());
      const expected = Object.values(pipelineFunctions(base)).map((f) => ({ 'Fn::GetAtt': [f.id, 'Arn'] }));
      expect(resources).toHaveLength(6);
      expect(resources).toEqual(expect.arrayContaining(expected));
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: logicalId(base.stack, base.stack.alertTopic) } }),
      );
    });
  });

  describe('state machine', () => {
    const asl = JSON.parse(fs.readFileSync(ASL_FILE, 'utf8')) as { States: Record<string, unknown> };

    it('is STANDARD with logging (ALL, execution data) and tracing', () => {
      base.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      base.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: true,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
        },
        TracingConfiguration: { Enabled: true },
      });
    });

    it('deploys the ASL file itself, with every placeholder substituted', () => {
      const sm = Object.values(base.template.findResources('AWS::StepFunctions::StateMachine'))[0] as Resource;
      // DefinitionBody.fromFile ships the file as an asset (DefinitionS3Location), not DefinitionString.
      const key: string = sm.Properties.DefinitionS3Location.Key;
      const deployed = JSON.parse(fs.readFileSync(path.join(base.assembly.directory, `asset.${key}`), 'utf8')) as {
        States: Record<string, unknown>;
      };
      expect(Object.keys(deployed.States).sort()).toEqual(Object.keys(asl.States).sort());
      expect(Object.keys(asl.States)).toEqual(
        expect.arrayContaining(['Fetch', 'Features', 'Predict', 'RiskCheck', 'PlaceOrders', 'CancelVerify', 'NotifyFailure']),
      );
      expect(deployed).toEqual(asl);

      const placeholders = [...fs.readFileSync(ASL_FILE, 'utf8').matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
      const substitutions = sm.Properties.DefinitionSubstitutions as Record<string, unknown>;
      expect(Object.keys(substitutions).sort()).toEqual([...new Set(placeholders)].sort());
      expect(substitutions.AlertTopicArn).toEqual({ Ref: logicalId(base.stack, base.stack.alertTopic) });
      expect(substitutions.OrdersFunctionArn).toEqual({ 'Fn::GetAtt': [pipelineFunctions(base).orders!.id, 'Arn'] });
    });

    it('outputs its ARN', () => {
      base.template.hasOutput('StateMachineArn', { Value: { Ref: logicalId(base.stack, base.stack.stateMachine) } });
    });
  });

  describe('tables', () => {
    it('creates one pk/sk table per TABLES entry, on demand, with point-in-time recovery', () => {
      const tables = Object.values(base.template.findResources('AWS::DynamoDB::Table') as Record<string, Resource>);
      expect(tables).toHaveLength(Object.keys(TABLES).length);
      for (const t of tables) {
        expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
        expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
        expect(t.Properties.KeySchema).toEqual([
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ]);
      }
    });

    it('retains the order ledger and only it; TTL where TABLES says', () => {
      for (const key of Object.keys(TABLES) as TableKey[]) {
        const spec = TABLES[key];
        const resource = base.template.findResources('AWS::DynamoDB::Table')[
          logicalId(base.stack, base.stack.tables[key])
        ] as Resource;
        const policy = spec.retain ? 'Retain' : 'Delete';
        expect({ key, deletion: resource.DeletionPolicy, replace: resource.UpdateReplacePolicy }).toEqual({
          key,
          deletion: policy,
          replace: policy,
        });
        const ttl = 'ttlAttribute' in spec ? { AttributeName: spec.ttlAttribute, Enabled: true } : undefined;
        expect(resource.Properties.TimeToLiveSpecification).toEqual(ttl);
      }
      expect(TABLES.orderLedger.retain).toBe(true);
    });
  });

  describe('alerts, kill switch, secret', () => {
    it('has a KMS-encrypted (rotating key), TLS-only topic', () => {
      base.template.resourceCountIs('AWS::SNS::Topic', 1);
      const keyId = Object.keys(base.template.findResources('AWS::KMS::Key', { Properties: { EnableKeyRotation: true } }));
      expect(keyId).toHaveLength(1);
      base.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId[0], 'Arn'] } });
      base.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
      base.template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
            }),
          ]),
        },
      });
    });

    it('has no subscriptions without context', () => {
      base.template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    it('subscribes the e-mail address and phone number given in context', () => {
      withContext.template.resourceCountIs('AWS::SNS::Subscription', 2);
      withContext.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'a@example.com' });
      withContext.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sms', Endpoint: '+15555550123' });
    });

    it('alarms on dead-lettered schedules, failed and timed-out executions', () => {
      const topicRef = { Ref: logicalId(base.stack, base.stack.alertTopic) };
      for (const MetricName of ['ApproximateNumberOfMessagesVisible', 'ExecutionsFailed', 'ExecutionsTimedOut']) {
        base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          AlarmActions: [topicRef],
        });
      }
    });

    it('creates the kill switch HALTED, restricted to the three states', () => {
      base.template.hasResourceProperties('AWS::SSM::Parameter', {
        Name: '/trading-pipeline/kill-switch',
        Type: 'String',
        Value: 'HALTED',
        AllowedPattern: '^(ARMED|REDUCE_ONLY|HALTED)$',
      });
      base.template.hasOutput('KillSwitchParameterName', Match.anyValue());
      base.template.hasOutput('KillSwitchConsoleUrl', {
        Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^https://console\\.aws\\.amazon\\.com/systems-manager/parameters/')])] },
      });
    });

    it('creates the API-key secret with empty placeholders only', () => {
      const secrets = Object.values(base.template.findResources('AWS::SecretsManager::Secret') as Record<string, Resource>);
      expect(secrets).toHaveLength(1);
      expect(secrets[0]!.Properties.Name).toBe('trading-pipeline/api-keys');
      expect(JSON.parse(secrets[0]!.Properties.SecretString as string)).toEqual({
        APCA_API_KEY_ID: '',
        APCA_API_SECRET_KEY: '',
        ALPHAVANTAGE_API_KEY: '',
      });
    });
  });

  describe('cdk-nag', () => {
    it('reports no unacknowledged AwsSolutions findings (with and without context, and with broker=alpaca)', () => {
      for (const built of [base, withContext, withAlpaca]) {
        const report = built.nag.validateScope(built.stack);
        expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
        expect(report.success).toBe(true);
      }
    });

    it('the pack is live: it flags a non-compliant resource in this environment', () => {
      const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'trading-pipeline-nag-')) });
      outdirs.push(app.outdir);
      const stack = new Stack(app, 'Control');
      new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      const rules = new AwsSolutionsChecks(app).validateScope(stack).violations.map((v) => v.ruleName);
      expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    });

    it('every acknowledgment carries a written reason', () => {
      const acks = base.stack.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((m) => Object.entries(m.data as Record<string, string>));
      expect(acks.length).toBeGreaterThan(0);
      for (const [id, reason] of acks) {
        expect(id).toMatch(/AwsSolutions-/);
        expect(reason.length, id).toBeGreaterThan(40);
      }
    });

    it('emits no error or warning annotations', () => {
      const annotations = Annotations.fromStack(base.stack);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    });
  });

  describe('context validation', () => {
    const config = (context: Record<string, unknown>) => readPipelineConfig(new App({ context }).node);

    it('defaults to 09:45 and no optional settings', () => {
      expect(config({})).toEqual({
        alertEmail: undefined,
        alertPhone: undefined,
        strategyConfig: undefined,
        scheduleHour: 9,
        scheduleMinute: 45,
        broker: 'paper',
        alpacaBaseUrl: undefined,
        alpacaLive: false,
        marketDataSource: 'csv',
        alphaVantageAdjusted: false,
      });
    });

    it('reads the market-data source; an API source needs a universe in strategyConfig, the adjusted flag needs alphavantage', () => {
      const universe = { strategyConfig: '{"universe":["AAPL","MSFT"]}' };
      expect(config({ ...universe, marketDataSource: 'alpaca' })).toMatchObject({ marketDataSource: 'alpaca', alphaVantageAdjusted: false });
      expect(config({ ...universe, marketDataSource: 'alphavantage', alphaVantageAdjusted: 'true' })).toMatchObject({
        marketDataSource: 'alphavantage',
        alphaVantageAdjusted: true,
      });
      expect(() => config({ marketDataSource: 'yahoo' })).toThrow('context marketDataSource must be one of csv, alphavantage, alpaca, got "yahoo"');
      expect(() => config({ marketDataSource: 'alphavantage' })).toThrow(/marketDataSource=alphavantage needs a "universe" in strategyConfig/);
      expect(() => config({ ...universe, marketDataSource: 'alpaca', alphaVantageAdjusted: true })).toThrow(
        'context alphaVantageAdjusted=true requires marketDataSource=alphavantage, got alpaca',
      );
    });

    it('reads the broker options: alpaca, its base URL and the live flag (booleans or "true"/"false")', () => {
      expect(config({ broker: 'alpaca' })).toMatchObject({ broker: 'alpaca', alpacaBaseUrl: undefined, alpacaLive: false });
      expect(config({ broker: 'alpaca', alpacaLive: 'true' })).toMatchObject({ broker: 'alpaca', alpacaLive: true });
      expect(config({ broker: 'alpaca', alpacaLive: true, alpacaBaseUrl: 'https://api.alpaca.markets' })).toMatchObject({
        alpacaLive: true,
        alpacaBaseUrl: 'https://api.alpaca.markets',
      });
      expect(config({ broker: 'alpaca', alpacaBaseUrl: 'https://paper-api.alpaca.markets', alpacaLive: 'false' })).toMatchObject({
        alpacaLive: false,
        alpacaBaseUrl: 'https://paper-api.alpaca.markets',
      });
      expect(config({ broker: 'paper', alpacaLive: false })).toMatchObject({ broker: 'paper', alpacaLive: false });
    });

    it('refuses an unknown broker, alpacaLive without broker=alpaca, and base URLs the adapter would refuse', () => {
      expect(() => config({ broker: 'ibkr' })).toThrow(/context broker must be one of paper, alpaca, got "ibkr"/);
      expect(() => config({ broker: 42 })).toThrow(/context broker/);
      expect(() => config({ alpacaLive: 'true' })).toThrow(/context alpacaLive=true requires broker=alpaca/);
      expect(() => config({ broker: 'paper', alpacaLive: true })).toThrow(/alpacaLive=true requires broker=alpaca/);
      expect(() => config({ broker: 'alpaca', alpacaLive: 'yes' })).toThrow(/context alpacaLive must be true or false, got "yes"/);
      expect(() => config({ alpacaBaseUrl: 'https://paper-api.alpaca.markets' })).toThrow(/alpacaBaseUrl is only used with broker=alpaca/);
      // Real money only when asked for explicitly.
      expect(() => config({ broker: 'alpaca', alpacaBaseUrl: 'https://api.alpaca.markets' })).toThrow(/alpacaBaseUrl\/alpacaLive: refusing APCA_API_BASE_URL/);
      expect(() => config({ broker: 'alpaca', alpacaBaseUrl: 'https://paper-api.alpaca.markets', alpacaLive: true })).toThrow(/alpacaLive/);
      expect(() => config({ broker: 'alpaca', alpacaBaseUrl: 'http://paper-api.alpaca.markets' })).toThrow(/https/);
      expect(() => config({ broker: 'alpaca', alpacaBaseUrl: 'http://127.0.0.1:8080' })).toThrow(/loopback/);
    });

    it('rejects malformed values', () => {
      expect(() => config({ scheduleHour: '24' })).toThrow(/scheduleHour/);
      expect(() => config({ scheduleHour: '9.5' })).toThrow(/scheduleHour/);
      expect(() => config({ scheduleMinute: '-1' })).toThrow(/scheduleMinute/);
      expect(() => config({ strategyConfig: '{riskPerTrade:0.004}' })).toThrow(/strategyConfig/);
      expect(() => config({ strategyConfig: '[1,2]' })).toThrow(/strategyConfig/);
      expect(() => config({ alertEmail: 'not-an-email' })).toThrow(/alertEmail/);
      expect(() => config({ alertPhone: '5555550123' })).toThrow(/alertPhone/);
    });

    it('accepts numbers from cdk.json and objects for strategyConfig', () => {
      expect(config({ scheduleHour: 23, scheduleMinute: 59, strategyConfig: { riskPerTrade: 0.004 } })).toMatchObject({
        scheduleHour: 23,
        scheduleMinute: 59,
        strategyConfig: '{"riskPerTrade":0.004}',
      });
    });
  });
});
