import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { LocalAlertSink } from '../../../lambdas/adapters/alerts/local-sink';
import { SnsAlerts } from '../../../lambdas/adapters/alerts/sns';
import { SimClock } from '../../../lambdas/adapters/clock';
import { LocalFileKillSwitch } from '../../../lambdas/adapters/parameters/local-file';
import { SsmKillSwitch } from '../../../lambdas/adapters/parameters/ssm';
import { EnvCredentials, SecretsManagerCredentials } from '../../../lambdas/adapters/secrets/secrets-manager';
import { readKillSwitch } from '../../../lambdas/handlers/shared/kill-switch';
import type { Alert } from '../../../lambdas/ports';

/** A client stub that records commands and answers with a function of the command. */
function stubClient<T>(answer: (command: unknown) => unknown): { client: T; sent: unknown[] } {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      const out = answer(command);
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as T;
  return { client, sent };
}

describe('SsmKillSwitch', () => {
  it('reads the value and its last change with a fresh GetParameter every time', async () => {
    const { client, sent } = stubClient<SSMClient>(() => ({
      Parameter: { Name: '/trading-pipeline/kill-switch', Value: 'ARMED', LastModifiedDate: new Date('2026-11-19T15:00:00Z') },
    }));
    const port = new SsmKillSwitch(client, '/trading-pipeline/kill-switch');
    expect(await port.read()).toEqual({ value: 'ARMED', lastModified: '2026-11-19T15:00:00.000Z' });
    await port.read();
    expect(sent).toHaveLength(2);
    expect(sent[0]).toBeInstanceOf(GetParameterCommand);
    expect((sent[0] as GetParameterCommand).input).toEqual({ Name: '/trading-pipeline/kill-switch' });
  });

  it('fails closed to HALTED when SSM refuses (e.g. AccessDenied, ParameterNotFound)', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform ssm:GetParameter'), { name: 'AccessDeniedException' });
    const { client } = stubClient<SSMClient>(() => denied);
    const status = await readKillSwitch(new SsmKillSwitch(client, '/k'));
    expect(status).toMatchObject({ state: 'HALTED', failedClosed: true });
    expect(status.reason).toContain('AccessDeniedException');
  });

  it('fails closed when the parameter has no value', async () => {
    const { client } = stubClient<SSMClient>(() => ({ Parameter: { Name: '/k' } }));
    expect((await readKillSwitch(new SsmKillSwitch(client, '/k'))).state).toBe('HALTED');
  });

  it('writes with PutParameter overwrite', async () => {
    const { client, sent } = stubClient<SSMClient>(() => ({}));
    await new SsmKillSwitch(client, '/k').write('HALTED');
    expect(sent[0]).toBeInstanceOf(PutParameterCommand);
    expect((sent[0] as PutParameterCommand).input).toMatchObject({ Name: '/k', Value: 'HALTED', Overwrite: true, Type: 'String' });
  });
});

describe('LocalFileKillSwitch', () => {
  it('round-trips the value stamped with the clock', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ks-')), 'kill-switch.json');
    const port = new LocalFileKillSwitch(file, new SimClock(new Date('2018-02-07T14:00:00Z')));
    expect(await port.exists()).toBe(false);
    await port.write('REDUCE_ONLY');
    expect(await port.read()).toEqual({ value: 'REDUCE_ONLY', lastModified: '2018-02-07T14:00:00.000Z' });
  });

  it('a missing file fails closed', async () => {
    const port = new LocalFileKillSwitch('/nonexistent/kill-switch.json', new SimClock(new Date(0)));
    expect(await readKillSwitch(port)).toMatchObject({ state: 'HALTED', failedClosed: true });
  });
});

const alert: Alert = { severity: 'CRITICAL', type: 'RECONCILIATION_MISMATCH', message: 'AAPL ledger 10 vs broker 0', runId: 'r', at: '2018-02-07T21:15:00.000Z' };

describe('alerts', () => {
  it('SNS: subject carries severity and type; attributes allow filtering subscriptions', async () => {
    const { client, sent } = stubClient<SNSClient>(() => ({ MessageId: 'm-1' }));
    await new SnsAlerts(client, 'arn:aws:sns:us-east-1:123456789012:alerts').publish(alert);
    const input = (sent[0] as PublishCommand).input;
    expect(input.TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:alerts');
    expect(input.Subject).toBe('CRITICAL RECONCILIATION_MISMATCH');
    expect(input.Message).toContain('AAPL ledger 10 vs broker 0');
    expect(input.MessageAttributes?.severity).toEqual({ DataType: 'String', StringValue: 'CRITICAL' });
  });

  it('SNS: the subject never exceeds the 100-character limit', async () => {
    const { client, sent } = stubClient<SNSClient>(() => ({}));
    await new SnsAlerts(client, 'arn').publish({ ...alert, type: 'X'.repeat(200) });
    expect((sent[0] as PublishCommand).input.Subject!.length).toBe(100);
  });

  it('local sink: prints and appends one JSON line per alert', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'alerts-')), 'alerts.jsonl');
    const printed: string[] = [];
    const sink = new LocalAlertSink(file, (l) => printed.push(l));
    await sink.publish(alert);
    await sink.publish({ ...alert, severity: 'MEDIUM', type: 'DATA_QUARANTINE' });
    expect(printed[0]).toBe('[alert] CRITICAL RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert);
    expect(lines.map((l) => l.type)).toEqual(['RECONCILIATION_MISMATCH', 'DATA_QUARANTINE']);
    expect(sink.published).toHaveLength(2);
  });
});

describe('credentials', () => {
  it('Secrets Manager: reads the JSON object and keeps the known, non-empty keys', async () => {
    const { client, sent } = stubClient<SecretsManagerClient>(() => ({
      SecretString: JSON.stringify({ APCA_API_KEY_ID: 'PK123', APCA_API_SECRET_KEY: 's3cr3t', ALPHAVANTAGE_API_KEY: '', other: 'x' }),
    }));
    expect(await new SecretsManagerCredentials(client, 'trading-pipeline/api-keys').getCredentials()).toEqual({ APCA_API_KEY_ID: 'PK123', APCA_API_SECRET_KEY: 's3cr3t' });
    expect((sent[0] as GetSecretValueCommand).input).toEqual({ SecretId: 'trading-pipeline/api-keys' });
  });

  it.each([
    [{}, /has no SecretString/],
    [{ SecretString: 'not json' }, /is not JSON/],
    [{ SecretString: '[1,2]' }, /must be a JSON object/],
    [{ SecretString: '{"APCA_API_KEY_ID": 5}' }, /APCA_API_KEY_ID must be a string, got number/],
  ])('Secrets Manager: %j is refused with a clear error', async (answer, message) => {
    const { client } = stubClient<SecretsManagerClient>(() => answer);
    await expect(new SecretsManagerCredentials(client, 'id').getCredentials()).rejects.toThrow(message);
  });

  it('environment: picks the same keys', async () => {
    expect(await new EnvCredentials({ APCA_API_KEY_ID: 'a', PATH: '/bin' }).getCredentials()).toEqual({ APCA_API_KEY_ID: 'a' });
  });
});
