export { createSimulatorProvider } from './simulator-provider.js';
export type { SimulatorOptions, SimulatorProvider } from './simulator-provider.js';
export { externalIpFor, internalIpFor } from './addresses.js';
export { SimulatedMachines, type SimulatedMachine, type StoredMachine } from './machines.js';
