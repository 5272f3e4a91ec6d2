/**
 * A broker that is never connected: used by CLI commands that record decisions in the
 * database (intent submit, halt) while the service owns the real broker session.
 * It refuses every order, so nothing can be sent from a second process.
 */
import { BrokerUnavailableError, type BrokerPort } from '../engine/index.js';

const refuse = async (): Promise<never> => {
  throw new BrokerUnavailableError('this process does not own the broker session (the running service does)');
};

export const offlineBroker: BrokerPort = {
  name: 'offline',
  connect: refuse,
  disconnect: async () => {},
  health: () => ({ state: 'DISCONNECTED', canSubmit: false, account: null, detail: 'CLI process: the service owns the broker session' }),
  accountSummary: refuse,
  qualify: refuse,
  placeBracket: refuse,
  placeOrder: refuse,
  cancel: refuse,
  resize: refuse,
  openOrders: refuse,
  executions: refuse,
  positions: refuse,
  findByOrderRef: refuse,
  onEvent: () => () => {},
};
