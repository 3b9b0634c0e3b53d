export { checkLoss, lossFree, type CheckOptions, type LossReport } from './checker.js';
export { parseStatementLog, type LoggedStatement } from './statement-log.js';
