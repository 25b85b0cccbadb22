/**
 * Embedded DynamoDB for local runs: dynalite on loopback, persisted (LevelDB) under the state
 * directory, with the same tables the CDK stack deploys (lambdas/adapters/dynamodb/tables.ts).
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { PARTITION_KEY, SORT_KEY, TABLES } from '../lambdas/adapters/dynamodb/tables';

/** Credentials dynalite accepts (it checks none); never real ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

export interface LocalDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts dynalite on 127.0.0.1 (ephemeral port) with its data in `path`, and creates the tables.
 * @throws Error naming the path when the store is locked by another run or cannot be opened.
 */
export async function startLocalDynamo(path: string): Promise<LocalDynamo> {
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  try {
    await ensureTables(endpoint);
  } catch (error) {
    await stop();
    throw new Error(`cannot open the local DynamoDB store in ${path}: ${(error as Error).message} (is another run using this --state-dir?)`);
  }
  return { endpoint, stop };
}

async function ensureTables(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    for (const spec of Object.values(TABLES)) {
      try {
        await client.send(
          new CreateTableCommand({
            TableName: spec.localName,
            AttributeDefinitions: [
              { AttributeName: PARTITION_KEY, AttributeType: 'S' },
              { AttributeName: SORT_KEY, AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
              { AttributeName: SORT_KEY, KeyType: 'RANGE' },
            ],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      // dynalite answers ResourceNotFound for a table still CREATING: wait until it is ACTIVE.
      for (let attempt = 0; ; attempt++) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: spec.localName }));
        if (Table?.TableStatus === 'ACTIVE') break;
        if (attempt >= 200) throw new Error(`table ${spec.localName} is still ${Table?.TableStatus} after 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    client.destroy();
  }
}
