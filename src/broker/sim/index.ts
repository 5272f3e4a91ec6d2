/** Simulated broker: the default BrokerPort (SPEC section 7). */
export { SimBroker, type SimBrokerOptions, type SimTruth } from './sim.broker.js';
export { SimFaults } from './sim.faults.js';
export { PROFILES, DELAY_RANGE_MS, PARTIAL_RATIO_RANGE, DEFAULT_REJECT, type SimProfile, type OutcomeTable } from './sim.profiles.js';
