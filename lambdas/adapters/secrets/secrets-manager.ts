/**
 * API credentials: a Secrets Manager secret holding a JSON object in AWS, environment variables
 * locally. Keys: APCA_API_KEY_ID, APCA_API_SECRET_KEY (Alpaca), ALPHAVANTAGE_API_KEY.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ApiCredentials, SecretsPort } from '../../ports';

const KEYS = ['APCA_API_KEY_ID', 'APCA_API_SECRET_KEY', 'ALPHAVANTAGE_API_KEY'] as const;

/** Keeps only the known keys with non-empty string values. */
function pick(source: Record<string, unknown>, origin: string): ApiCredentials {
  const out: ApiCredentials = {};
  for (const key of KEYS) {
    const value = source[key];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw new Error(`${origin}: ${key} must be a string, got ${typeof value}`);
    out[key] = value;
  }
  return out;
}

export class SecretsManagerCredentials implements SecretsPort {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  /** @throws Error naming the secret when it is missing, binary or not a JSON object. */
  async getCredentials(): Promise<ApiCredentials> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    if (out.SecretString === undefined) throw new Error(`secret ${this.secretId} has no SecretString`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(out.SecretString);
    } catch {
      throw new Error(`secret ${this.secretId} is not JSON`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`secret ${this.secretId} must be a JSON object`);
    return pick(parsed as Record<string, unknown>, `secret ${this.secretId}`);
  }
}

export class EnvCredentials implements SecretsPort {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async getCredentials(): Promise<ApiCredentials> {
    return pick(this.env as Record<string, unknown>, 'environment');
  }
}
