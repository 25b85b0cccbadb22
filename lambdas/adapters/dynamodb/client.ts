/**
 * DynamoDB document client factory and table-name resolution. The same repository classes run
 * in Lambda (real DynamoDB) and locally (dynalite on loopback): only the endpoint differs.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLES, type TableKey } from './tables';

/** Physical table name per logical table. */
export type TableNames = Record<TableKey, string>;

export interface DynamoClientOptions {
  /** e.g. http://127.0.0.1:PORT for dynalite; omit in Lambda. */
  endpoint?: string;
  region?: string;
  /** Static credentials (dynalite accepts any); omit in Lambda to use the execution role. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * The SDK's HTTP handler; omit for the default (HTTP). Local runs pass dynalite's in-process
   * handler (local/dynalite.ts), which serves the same requests without a socket.
   */
  requestHandler?: DynamoDBClientConfig['requestHandler'];
}

/** A document client that drops undefined attributes and keeps numbers as JS numbers. */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.requestHandler ? { requestHandler: options.requestHandler } : {}),
    maxAttempts: 5,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Table names from the Lambda environment (variables named in TABLES[*].envVar).
 * Only the tables in `needed` are required.
 * @throws Error naming the missing variable.
 */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv, needed: readonly TableKey[]): Partial<TableNames> {
  const names: Partial<TableNames> = {};
  for (const key of needed) {
    const value = env[TABLES[key].envVar];
    if (!value) throw new Error(`environment variable ${TABLES[key].envVar} (table ${TABLES[key].id}) is not set`);
    names[key] = value;
  }
  return names;
}

/** Table names used in dynalite. */
export function localTableNames(): TableNames {
  return Object.fromEntries(Object.entries(TABLES).map(([k, spec]) => [k, spec.localName])) as TableNames;
}

/** True for DynamoDB's conditional-check failure, whichever client layer raised it. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}
