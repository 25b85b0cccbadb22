/**
 * Test helper: an in-memory dynalite with the project's tables, and a document client for it.
 * Each call gets its own server, so tests do not share data.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, localTableNames, type TableNames } from '../../lambdas/adapters/dynamodb/client';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo } from '../../local/dynalite';

export interface TestDynamo {
  db: DynamoDBDocumentClient;
  tables: TableNames;
  stop(): Promise<void>;
}

/** Starts dynalite (LevelDB in a fresh temp dir) with all tables created. */
export async function startTestDynamo(): Promise<TestDynamo> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-dynamo-'));
  const local = await startLocalDynamo(dir);
  const db = createDocumentClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    db,
    tables: localTableNames(),
    stop: async () => {
      db.destroy();
      await local.stop();
    },
  };
}
