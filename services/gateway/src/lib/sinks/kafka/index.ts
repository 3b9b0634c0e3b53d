export { KafkaSink, type KafkaSinkOptions } from './kafka-sink.js';
export { ProduceBatcher, type ProduceBatcherOptions } from './produce-batcher.js';
export { kafkaCrc32c } from './native-crc.js';
export { kafkaEncoderGrowth } from './encoder-growth.js';
export { kafkaProduceEncoding } from './produce-encoder.js';
