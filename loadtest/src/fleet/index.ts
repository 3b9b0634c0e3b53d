export { startFleet, runFleet, type FleetOptions, type FleetRun, type FleetHandle } from './fleet.js';
export { checkFleet, fleetCheckInputs, type FleetCheckOptions } from './check.js';
export { parseDuration, parseRate, parseMix, pick, DEFAULT_MIX, type Mix, type OpKind } from './args.js';
export { FleetStats, formatReport, summarize, percentile, type FleetReport, type LatencySummary } from './stats.js';
export { loadStack, run, repoRoot, deploy as deployLocal, status as stackStatus, componentPid, waitHealthy, gatewayNames, hasHttp, type Stack, type RunResult, type ComponentStatus } from './stack.js';
export { FleetError } from './errors.js';
