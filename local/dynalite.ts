/**
 * Embedded DynamoDB for local runs: dynalite on loopback, in memory, persisted under the state
 * directory by a write-ahead journal (local/dynalite-journal.ts) or not at all, with the same tables the CDK stack deploys
 * (lambdas/adapters/dynamodb/tables.ts).
 *
 * Clients in this process can skip the socket: `requestHandler` hands each request the SDK built
 * (serialized and signed as for the endpoint) straight to dynalite's request listener and returns its
 * response, so the requests and answers are the same as over HTTP, without the loopback round trip.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { createRequire } from 'node:module';
import dynalite from 'dynalite';
import { attachJournal, openJournal, StoreOpenError, type DynaliteDb, type OpenJournal } from './dynalite-journal';
import { PARTITION_KEY, SORT_KEY, TABLES } from '../lambdas/adapters/dynamodb/tables';

/** Credentials dynalite accepts (it checks none); never real ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

export interface LocalDynamo {
  endpoint: string;
  /**
   * An AWS SDK request handler (`requestHandler` of a DynamoDBClient whose endpoint is `endpoint`)
   * that serves each request in-process through the same dynalite server: same answers, no socket.
   */
  requestHandler: InProcessRequestHandler;
  stop(): Promise<void>;
}

/**
 * The signer of clients using `requestHandler`: dynalite checks that a request carries a SigV4
 * Authorization header of the right form and a date, but never its signature, and these requests
 * never leave the process. So instead of hashing every body and deriving HMAC keys per request (a
 * fetch step's requests carried about a megabyte), it writes a header of that form with a fixed
 * placeholder signature. Never for a request that leaves the process.
 */
export const IN_PROCESS_SIGNER = {
  async sign<T extends { headers: Record<string, string> }>(request: T): Promise<T> {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    request.headers['x-amz-date'] = amzDate;
    request.headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/${amzDate.slice(0, 8)}/${LOCAL_REGION}/dynamodb/aws4_request, ` +
      'SignedHeaders=host;x-amz-date, Signature=in-process-unsigned';
    return request;
  },
};

/** The smithy request shape the SDK hands its request handler (the fields used here). */
interface SdkHttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** The smithy response shape (`HttpResponse` is checked structurally). */
interface SdkHttpResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A smithy `HttpHandler` that calls dynalite's request listener directly with a minimal request
 * (method, url, lower-cased headers, the body as one chunk) and response (status, headers, body).
 */
export class InProcessRequestHandler {
  constructor(private readonly listener: RequestListener) {}

  handle(request: SdkHttpRequest, options: { abortSignal?: { aborted: boolean } } = {}): Promise<{ response: SdkHttpResponse }> {
    if (options.abortSignal?.aborted) {
      const error = new Error('Request aborted');
      error.name = 'AbortError';
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const req = new EventEmitter() as EventEmitter & { method: string; url: string; headers: Record<string, string> };
      req.method = request.method;
      req.url = `${request.path}${queryString(request.query)}`;
      req.headers = {};
      for (const [name, value] of Object.entries(request.headers)) req.headers[name.toLowerCase()] = value;
      const headers: Record<string, string> = {};
      const res = {
        statusCode: 200,
        setHeader(name: string, value: unknown): void {
          headers[name.toLowerCase()] = String(value);
        },
        end(body?: string | Uint8Array): void {
          const bytes = body === undefined ? new Uint8Array() : typeof body === 'string' ? new TextEncoder().encode(body) : new Uint8Array(body);
          resolve({ response: { statusCode: res.statusCode, headers, body: bytes } });
        },
      };
      try {
        this.listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
        const body = request.body;
        if (body !== undefined && body !== null && body !== '') {
          if (typeof body === 'string') req.emit('data', Buffer.from(body, 'utf8'));
          else if (body instanceof Uint8Array) req.emit('data', Buffer.from(body.buffer, body.byteOffset, body.byteLength));
          else throw new Error(`in-process DynamoDB: unsupported request body (${typeof body})`);
        }
        req.emit('end');
      } catch (error) {
        reject(error);
      }
    });
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}

function queryString(query: SdkHttpRequest['query']): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      parts.push(v === null ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
    }
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** dynalite's store module: `dynalite()` calls its `create` (looked up at call time) for the store it serves. */
const dynaliteStore = createRequire(import.meta.url)('dynalite/db/index.js') as { create(options: object): { db: DynaliteDb } };

/**
 * Starts dynalite on 127.0.0.1 (ephemeral port) with the tables created: with its data in the
 * directory `path`, in memory and made durable there by a write-ahead journal
 * (local/dynalite-journal.ts), or in memory only when `path` is null (gone when stopped).
 * @throws Error naming the path when another process holds the directory or its data cannot be
 *   read (the file and line).
 */
export async function startLocalDynamo(path: string | null): Promise<LocalDynamo> {
  let journal: OpenJournal | null = null;
  if (path !== null) {
    try {
      journal = await openJournal(path);
    } catch (error) {
      const inUse = error instanceof StoreOpenError && error.inUse;
      throw new Error(`cannot open the local DynamoDB store in ${path}: ${(error as Error).message}${inUse ? ' (is another run using this --state-dir?)' : ''}`);
    }
  }
  // dynalite creates its store in memory (no path); the journal makes it durable.
  const create = dynaliteStore.create;
  let store: { db: DynaliteDb } | undefined;
  dynaliteStore.create = (options) => (store = create(options));
  let server: ReturnType<typeof dynalite>;
  try {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  } finally {
    dynaliteStore.create = create;
  }
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  const stop = async () => {
    await closeServer();
    await journal?.close();
  };
  try {
    if (journal) {
      if (!store) throw new Error('dynalite did not create its store through dynalite/db');
      await attachJournal(store.db, journal);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    await stop();
    throw new Error(`cannot start the local DynamoDB store${path === null ? '' : ` in ${path}`}: ${(error as Error).message}`);
  }
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const listener = server.listeners('request')[0] as RequestListener | undefined;
  if (!listener) throw new Error('dynalite server has no request listener');
  const requestHandler = new InProcessRequestHandler(listener);
  try {
    await ensureTables(endpoint, requestHandler);
  } catch (error) {
    await stop();
    throw new Error(`cannot create the tables of the local DynamoDB store${path === null ? ' in memory' : ` in ${path}`}: ${(error as Error).message}`);
  }
  return { endpoint, requestHandler, stop };
}

async function ensureTables(endpoint: string, requestHandler: InProcessRequestHandler): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler });
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
