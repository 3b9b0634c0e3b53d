export { runScenario, formatScenario, type Fault, type FaultContext, type ScenarioOptions, type ScenarioResult } from './scenario.js';
export { gatewayKill } from './gateway-kill.js';
export { kafkaRestart } from './kafka-restart.js';
export { materializerKill } from './materializer-kill.js';
export { clickhouseRestart } from './clickhouse-restart.js';
export { temporalStop } from './temporal-stop.js';
