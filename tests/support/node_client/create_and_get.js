// A SchedulerService client made by Node's toolchain (@grpc/proto-loader reads the
// .proto files at run time; @grpc/grpc-js speaks the protocol): creates a task,
// reads it back, and prints both answers as JSON on stdout.
//
//   node create_and_get.js <host:port> [token]
//
// Proto include dirs: proto/ and proto/third_party/googleapis/ (vendored), plus any
// in TASKFLOW_PROTO_INCLUDES (path-separated), e.g. grpc_tools' well-known types.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const extraIncludes = (process.env.TASKFLOW_PROTO_INCLUDES || '')
  .split(path.delimiter)
  .filter(Boolean);

function loadScheduler() {
  const definition = protoLoader.loadSync('taskflow/v1/scheduler_service.proto', {
    includeDirs: [path.join(ROOT, 'proto'), path.join(ROOT, 'proto', 'third_party', 'googleapis'), ...extraIncludes],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).taskflow.v1.SchedulerService;
}

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 10000 }, (error, reply) =>
      error ? reject(error) : resolve(reply),
    );
  });
}

async function main() {
  const [address, token] = process.argv.slice(2);
  if (!address) throw new Error('usage: node create_and_get.js <host:port> [token]');
  const SchedulerService = loadScheduler();
  const client = new SchedulerService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.add('authorization', `Bearer ${token}`);
  try {
    const created = await unary(
      client,
      'CreateTask',
      {
        task_type: 'echo',
        content: 'hello from node',
        metadata: { fields: { client: { stringValue: 'grpc-js' } } },
        max_retries: 2,
      },
      metadata,
    );
    const got = await unary(client, 'GetTask', { task_id: created.task_id }, metadata);
    process.stdout.write(JSON.stringify({ created, task: got.task }) + '\n');
  } finally {
    client.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.code ?? ''} ${error.message}\n`);
  process.exit(1);
});
