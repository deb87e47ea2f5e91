import { createServer } from 'node:http';

/*
 * The physical baseline: a bare node:http server answering a fixed small JSON body, about the size of one
 * instance. Gale's figures are divided by this one's, measured in the same run on the same machine.
 */
const body = JSON.stringify({
  id: 'tw-550e84-a1b2c3d4',
  userId: '550e8400-e29b-41d4-a716-446655440000',
  name: 'tw-550e84-a1b2c3d4',
  zone: 'us-central1-a',
  machineType: 'zones/us-central1-a/machineTypes/n1-standard-2',
  externalIp: '34.120.1.100',
  internalIp: '10.128.0.5',
  status: 'RUNNING',
  templateId: 'ubuntu-22-standard',
  createdAt: '2024-01-01T00:00:00Z',
});

createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
