// The provider contract over real VMs: QEMU under TCG (KVM hangs on the CI hosts), the image built into a temporary
// data directory. (scripts/install-qemu.sh installs QEMU; without it the suite is skipped, and fails when CI=true.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openQemuSubject } from '../helpers/qemu-subject.js';
import { qemuProblem } from '../helpers/qemu-vms.js';
import { providerContract } from './contract.js';

const problem = qemuProblem();
if (problem && process.env.CI === 'true') {
  test('QEMU and the VM image tools are installed (required when CI=true)', () => assert.fail(problem));
}
providerContract('qemu', openQemuSubject, { skip: problem, timeoutMs: 300_000, stopGraceMs: 60_000 });
