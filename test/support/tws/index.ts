export { TwsTestServer, parsePlaceOrder } from './server.js';
export type {
  BehaviorMatch,
  FillBehavior,
  PlacedOrderMessage,
  ReceivedMessage,
  ServerExecution,
  ServerOrder,
  ServerOrderStatus,
  TwsTestServerOptions,
} from './server.js';
export { DEFAULT_CONTRACTS, matchContracts, type TwsContract } from './catalog.js';
export { FrameReader, frame, IN, OUT, SERVER_VERSION } from './protocol.js';
