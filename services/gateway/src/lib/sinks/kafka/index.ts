export { KafkaSink, type KafkaSinkOptions } from './kafka-sink.js';
export { GroupCommit, type GroupCommitOptions } from './group-commit.js';
