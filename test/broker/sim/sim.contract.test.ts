/** The BrokerPort contract, run against SimBroker INSTANT on a FakeClock. */
import { SimBroker } from '../../../src/broker/sim/sim.broker.js';
import { seededRandom } from '../../../src/engine/ports.js';
import { FakeClock } from '../../support/fake-clock.js';
import { runBrokerContract } from '../contract.js';

runBrokerContract('SimBroker INSTANT', async () => {
  const clock = new FakeClock();
  const broker = new SimBroker({ clock, random: seededRandom(7), profile: 'INSTANT' });
  return {
    broker,
    settle: () => clock.advance(0),
    movePrice: async (symbol, price) => {
      broker.simulatePrice(symbol, price);
      await clock.advance(0);
    },
    close: () => broker.disconnect(),
  };
});
