export { KafkaSink, type KafkaSinkOptions } from './kafka-sink.js';
