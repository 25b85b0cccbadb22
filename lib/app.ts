/**
 * CDK app entry (`cdk.json` runs it with `npx tsx lib/app.ts`). Builds the single, env-agnostic
 * `TradingPipeline` stack and registers the cdk-nag AwsSolutions checks.
 *
 * cdk-nag 3 is a CDK policy-validation plugin (registered with `Validations.of(app).addPlugins`,
 * not as an Aspect): any unacknowledged finding fails `cdk synth` and is listed in
 * cdk.out/policy-validation-report.json. Every finding is fixed in the stack or acknowledged there
 * with a written reason (`Validations.of(construct).acknowledge`).
 *
 * Context (all optional, see lib/stack-config.ts): alertEmail, alertPhone, strategyConfig,
 * scheduleHour, scheduleMinute, broker (paper|alpaca), alpacaBaseUrl, alpacaLive.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TradingPipelineStack } from './trading-pipeline-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
new TradingPipelineStack(app, 'TradingPipeline');
app.synth();
