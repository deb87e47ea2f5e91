import { openReplicaIdentity } from '../../src/store/replica-identity.js';

/*
 * A child process for replica-identity.test.ts: takes a replica id on the data directory (argv[2]; argv[3] a requested
 * id), prints it as one JSON line (or the refusal), and holds it until killed or told "close" on stdin.
 */

const [dataDir, requested] = process.argv.slice(2);
try {
  const identity = await openReplicaIdentity({ dataDir: dataDir!, requested });
  process.stdout.write(`${JSON.stringify({ id: identity.id })}\n`);
  process.stdin.on('data', () => void identity.close().then(() => process.exit(0)));
} catch (error) {
  process.stdout.write(`${JSON.stringify({ refused: (error as Error).message })}\n`);
  process.exit(0);
}
