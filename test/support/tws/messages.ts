/**
 * Server → client message layouts at server version 193, written field by field in the
 * order @stoqey/ib 1.6.10's decoder reads them (dist/core/io/decoder.js). A missing field
 * makes the client drop the message with error 505 (underrun); an extra field gives 505
 * "unprocessed data". The test suite asserts that no 505 is ever emitted.
 */
import type { TwsContract } from './catalog.js';
import { IN, UNSET_DOUBLE, UNSET_INT, type Field } from './protocol.js';

/** What the builders need to know about an order. */
export interface OrderView {
  readonly orderId: number;
  readonly clientId: number;
  readonly permId: number;
  readonly contract: TwsContract;
  /** exchange as the client sent it (echoed back) */
  readonly exchange: string;
  readonly action: string;
  readonly totalQuantity: number;
  readonly orderType: string;
  readonly lmtPrice: number | undefined;
  readonly auxPrice: number | undefined;
  readonly tif: string;
  readonly ocaGroup: string;
  readonly ocaType: number;
  /** may trigger/fill outside regular trading hours */
  readonly outsideRth: boolean;
  readonly account: string;
  readonly orderRef: string;
  readonly parentId: number;
  readonly parentPermId: number;
  readonly filled: number;
  readonly completedTime: string;
  readonly completedStatus: string;
}

const dbl = (v: number | undefined): Field => (v === undefined ? UNSET_DOUBLE : v);

function contractFields(c: TwsContract, exchange: string): Field[] {
  return [
    c.conId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    0, // strike
    '', // right
    c.secType === 'FUT' ? c.multiplier : '',
    exchange || c.exchange,
    c.currency,
    c.localSymbol,
    c.tradingClass,
  ];
}

export function errMsg(id: number, code: number, message: string, advancedOrderRejectJson = ''): Field[] {
  return [IN.ERR_MSG, 2, id, code, message, advancedOrderRejectJson];
}

export const nextValidId = (id: number): Field[] => [IN.NEXT_VALID_ID, 1, id];
export const managedAccts = (accounts: readonly string[]): Field[] => [IN.MANAGED_ACCTS, 1, accounts.join(',')];
export const currentTime = (epochSeconds: number): Field[] => [IN.CURRENT_TIME, 1, epochSeconds];
export const openOrderEnd = (): Field[] => [IN.OPEN_ORDER_END, 1];
export const contractDataEnd = (reqId: number): Field[] => [IN.CONTRACT_DATA_END, 1, reqId];
export const executionDataEnd = (reqId: number): Field[] => [IN.EXECUTION_DATA_END, 1, reqId];
export const positionEnd = (): Field[] => [IN.POSITION_END, 1];
export const accountSummaryEnd = (reqId: number): Field[] => [IN.ACCOUNT_SUMMARY_END, 1, reqId];
export const completedOrdersEnd = (): Field[] => [IN.COMPLETED_ORDERS_END];

export function orderStatus(
  o: OrderView,
  status: string,
  avgFillPrice: number,
  lastFillPrice: number,
  whyHeld = '',
): Field[] {
  return [
    IN.ORDER_STATUS,
    o.orderId,
    status,
    o.filled,
    Math.max(0, o.totalQuantity - o.filled),
    avgFillPrice,
    o.permId,
    o.parentId,
    lastFillPrice,
    o.clientId,
    whyHeld,
    0, // mktCapPrice
  ];
}

/** OPEN_ORDER at sv 193 (no version field; 132 fields after the order id for a plain order). */
export function openOrder(o: OrderView, status: string): Field[] {
  return [
    IN.OPEN_ORDER,
    o.orderId,
    ...contractFields(o.contract, o.exchange),
    // readAction … readOrderRef
    o.action,
    o.totalQuantity,
    o.orderType,
    dbl(o.lmtPrice),
    dbl(o.auxPrice),
    o.tif,
    o.ocaGroup,
    o.account,
    'O', // openClose
    0, // origin (customer)
    o.orderRef,
    o.clientId,
    o.permId,
    o.outsideRth ? 1 : 0, // outsideRth
    0, // hidden
    0, // discretionaryAmt
    '', // goodAfterTime
    '', // sharesAllocation (deprecated, skipped)
    '', // faGroup
    '', // faMethod
    '', // faPercentage (no faProfile at >= 177)
    '', // modelCode
    '', // goodTillDate
    '', // rule80A
    UNSET_DOUBLE, // percentOffset
    '', // settlingFirm
    0, // shortSaleSlot
    '', // designatedLocation
    -1, // exemptCode
    0, // auctionStrategy
    UNSET_DOUBLE, // startingPrice
    UNSET_DOUBLE, // stockRefPrice
    UNSET_DOUBLE, // delta
    UNSET_DOUBLE, // stockRangeLower
    UNSET_DOUBLE, // stockRangeUpper
    UNSET_INT, // displaySize
    0, // blockOrder
    0, // sweepToFill
    0, // allOrNone
    UNSET_INT, // minQty
    o.ocaType,
    0, // eTradeOnly
    0, // firmQuoteOnly
    UNSET_DOUBLE, // nbboPriceCap
    o.parentId,
    0, // triggerMethod
    // readVolOrderParams(true)
    UNSET_DOUBLE, // volatility
    0, // volatilityType
    '', // deltaNeutralOrderType ("" → no delta-neutral block)
    UNSET_DOUBLE, // deltaNeutralAuxPrice
    0, // continuousUpdate
    0, // referencePriceType
    // readTrailParams
    UNSET_DOUBLE, // trailStopPrice
    UNSET_DOUBLE, // trailingPercent
    // readBasisPoints
    UNSET_DOUBLE, // basisPoints
    UNSET_INT, // basisPointsType
    // readComboLegs
    '', // comboLegsDescrip
    0, // comboLegsCount
    0, // orderComboLegsCount
    0, // smartComboRoutingParamsCount
    // readScaleOrderParams
    UNSET_INT, // scaleInitLevelSize
    UNSET_INT, // scaleSubsLevelSize
    UNSET_DOUBLE, // scalePriceIncrement (unset → no extra scale fields)
    '', // hedgeType ("" → no hedgeParam)
    0, // optOutSmartRouting
    '', // clearingAccount
    '', // clearingIntent
    0, // notHeld
    0, // deltaNeutralContract present
    '', // algoStrategy ("" → no params)
    0, // solicited
    // readWhatIfInfoAndCommission
    0, // whatIf
    status,
    UNSET_DOUBLE, // initMarginBefore
    UNSET_DOUBLE, // maintMarginBefore
    UNSET_DOUBLE, // equityWithLoanBefore
    UNSET_DOUBLE, // initMarginChange
    UNSET_DOUBLE, // maintMarginChange
    UNSET_DOUBLE, // equityWithLoanChange
    UNSET_DOUBLE, // initMarginAfter
    UNSET_DOUBLE, // maintMarginAfter
    UNSET_DOUBLE, // equityWithLoanAfter
    UNSET_DOUBLE, // commission
    UNSET_DOUBLE, // minCommission
    UNSET_DOUBLE, // maxCommission
    '', // commissionCurrency
    '', // warningText
    0, // randomizeSize
    0, // randomizePrice
    // (PEG BENCH fields only for PEG BENCH orders)
    0, // conditionsCount
    // readAdjustedOrderParams
    '', // adjustedOrderType
    UNSET_DOUBLE, // triggerPrice
    UNSET_DOUBLE, // trailStopPrice
    UNSET_DOUBLE, // lmtPriceOffset
    UNSET_DOUBLE, // adjustedStopPrice
    UNSET_DOUBLE, // adjustedStopLimitPrice
    UNSET_DOUBLE, // adjustedTrailingAmount
    0, // adjustableTrailingUnit
    '', // softDollarTier name
    '', // softDollarTier value
    '', // softDollarTier displayName
    UNSET_DOUBLE, // cashQty
    0, // dontUseAutoPriceForHedge
    0, // isOmsContainer
    0, // discretionaryUpToLimitPrice
    0, // usePriceMgmtAlgo
    UNSET_INT, // duration
    UNSET_INT, // postToAts
    0, // autoCancelParent
    UNSET_INT, // minTradeQty
    UNSET_INT, // minCompeteSize
    UNSET_DOUBLE, // competeAgainstBestOffset
    UNSET_DOUBLE, // midOffsetAtWhole
    UNSET_DOUBLE, // midOffsetAtHalf
    '', // customerAccount
    0, // professionalCustomer
    '', // bondAccruedInterest
    0, // includeOvernight
    '', // extOperator
    UNSET_INT, // manualOrderIndicator
  ];
}

/** COMPLETED_ORDER at sv 193: no order id, no clientId; its own subset of the order fields. */
export function completedOrder(o: OrderView, status: string): Field[] {
  return [
    IN.COMPLETED_ORDER,
    ...contractFields(o.contract, o.exchange),
    o.action,
    o.totalQuantity,
    o.orderType,
    dbl(o.lmtPrice),
    dbl(o.auxPrice),
    o.tif,
    o.ocaGroup,
    o.account,
    'O', // openClose
    0, // origin
    o.orderRef,
    o.permId,
    o.outsideRth ? 1 : 0, // outsideRth
    0, // hidden
    0, // discretionaryAmt
    '', // goodAfterTime
    '', // faGroup
    '', // faMethod
    '', // faPercentage
    '', // modelCode
    '', // goodTillDate
    '', // rule80A
    UNSET_DOUBLE, // percentOffset
    '', // settlingFirm
    0, // shortSaleSlot
    '', // designatedLocation
    -1, // exemptCode
    UNSET_DOUBLE, // startingPrice
    UNSET_DOUBLE, // stockRefPrice
    UNSET_DOUBLE, // delta
    UNSET_DOUBLE, // stockRangeLower
    UNSET_DOUBLE, // stockRangeUpper
    UNSET_INT, // displaySize
    0, // sweepToFill
    0, // allOrNone
    UNSET_INT, // minQty
    o.ocaType,
    0, // triggerMethod
    // readVolOrderParams(false)
    UNSET_DOUBLE, // volatility
    0, // volatilityType
    '', // deltaNeutralOrderType
    UNSET_DOUBLE, // deltaNeutralAuxPrice
    0, // continuousUpdate
    0, // referencePriceType
    UNSET_DOUBLE, // trailStopPrice
    UNSET_DOUBLE, // trailingPercent
    '', // comboLegsDescrip
    0, // comboLegsCount
    0, // orderComboLegsCount
    0, // smartComboRoutingParamsCount
    UNSET_INT, // scaleInitLevelSize
    UNSET_INT, // scaleSubsLevelSize
    UNSET_DOUBLE, // scalePriceIncrement
    '', // hedgeType
    '', // clearingAccount
    '', // clearingIntent
    0, // notHeld
    0, // deltaNeutralContract present
    '', // algoStrategy
    0, // solicited
    status,
    0, // randomizeSize
    0, // randomizePrice
    0, // conditionsCount
    UNSET_DOUBLE, // trailStopPrice
    UNSET_DOUBLE, // lmtPriceOffset
    UNSET_DOUBLE, // cashQty
    0, // dontUseAutoPriceForHedge
    0, // isOmsContainer
    '', // autoCancelDate
    o.filled, // filledQuantity
    0, // refFuturesConId
    0, // autoCancelParent
    '', // shareholder
    0, // imbalanceOnly
    0, // routeMarketableToBbo
    o.parentPermId, // parentPermId
    o.completedTime,
    o.completedStatus,
    UNSET_INT, // minTradeQty
    UNSET_INT, // minCompeteSize
    UNSET_DOUBLE, // competeAgainstBestOffset
    UNSET_DOUBLE, // midOffsetAtWhole
    UNSET_DOUBLE, // midOffsetAtHalf
    '', // customerAccount
    0, // professionalCustomer
  ];
}

export interface ExecView {
  readonly execId: string;
  readonly orderId: number;
  readonly clientId: number;
  readonly permId: number;
  readonly contract: TwsContract;
  readonly exchange: string;
  readonly time: string;
  readonly account: string;
  readonly side: 'BOT' | 'SLD';
  readonly shares: number;
  readonly price: number;
  readonly cumQty: number;
  readonly avgPrice: number;
  readonly orderRef: string;
  readonly commission: number;
}

/** EXECUTION_DATA at sv 193 (no version field; pendingPriceRevision last). */
export function executionData(reqId: number, e: ExecView): Field[] {
  return [
    IN.EXECUTION_DATA,
    reqId,
    e.orderId,
    ...contractFields(e.contract, e.exchange),
    e.execId,
    e.time,
    e.account,
    e.contract.secType === 'FUT' ? e.contract.exchange : e.contract.primaryExch || e.exchange, // execution exchange
    e.side,
    e.shares,
    e.price,
    e.permId,
    e.clientId,
    0, // liquidation
    e.cumQty,
    e.avgPrice,
    e.orderRef,
    '', // evRule
    '', // evMultiplier
    '', // modelCode
    1, // lastLiquidity (added)
    0, // pendingPriceRevision
  ];
}

export function commissionReport(e: ExecView): Field[] {
  return [IN.COMMISSION_REPORT, 1, e.execId, e.commission, 'USD', UNSET_DOUBLE, UNSET_DOUBLE, ''];
}

/** CONTRACT_DATA at sv 193 (no version field; lastTradeDate field since 182; ineligibility count since 186). */
export function contractData(reqId: number, c: TwsContract): Field[] {
  return [
    IN.CONTRACT_DATA,
    reqId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    c.lastTradeDate, // lastTradeDate (>= 182)
    0, // strike
    '', // right
    c.exchange,
    c.currency,
    c.localSymbol,
    c.secType === 'FUT' ? c.symbol : c.primaryExch === 'ARCA' ? c.symbol : 'NMS', // marketName
    c.tradingClass,
    c.conId,
    c.minTick,
    c.secType === 'FUT' ? c.multiplier : '',
    c.secType === 'FUT' ? 'ACTIVETIM,AD,ADJUST,ALERT,ALLOC,LMT,MKT,STP,STPLMT' : 'ACTIVETIM,AD,ADJUST,ALERT,ALLOC,LMT,MKT,STP,STPLMT,TRAIL',
    c.secType === 'FUT' ? 'CME,QBALGO' : `SMART,${c.primaryExch}`,
    1, // priceMagnifier
    0, // underConId
    c.longName,
    c.primaryExch,
    c.contractMonth,
    '', // industry
    '', // category
    '', // subcategory
    c.secType === 'FUT' ? 'US/Central' : 'US/Eastern',
    '', // tradingHours
    '', // liquidHours
    '', // evRule
    '', // evMultiplier
    0, // secIdListCount
    1, // aggGroup
    c.secType === 'FUT' ? c.symbol : '', // underSymbol
    c.secType === 'FUT' ? 'IND' : '', // underSecType
    '26,26', // marketRuleIds
    c.lastTradeDate, // realExpirationDate
    c.secType === 'STK' ? 'COMMON' : '', // stockType
    1, // minSize
    1, // sizeIncrement
    1, // suggestedSizeIncrement
    0, // ineligibilityReasonCount
  ];
}

export function position(account: string, c: TwsContract, pos: number, avgCost: number): Field[] {
  return [
    IN.POSITION,
    3,
    account,
    c.conId,
    c.symbol,
    c.secType,
    c.lastTradeDate,
    0,
    '',
    c.secType === 'FUT' ? c.multiplier : '',
    c.secType === 'FUT' ? c.exchange : '',
    c.currency,
    c.localSymbol,
    c.tradingClass,
    pos,
    avgCost,
  ];
}

export function accountSummary(reqId: number, account: string, tag: string, value: string, currency: string): Field[] {
  return [IN.ACCOUNT_SUMMARY, 1, reqId, account, tag, value, currency];
}
