/** PostgreSQL protocol 3.0 codec: framing, decoders, encoders and upstream SCRAM/MD5 login. */
export * from './codes.js';
export * from './errors.js';
export * from './messages.js';
export * from './reader.js';
export * from './decode.js';
export * from './decode-backend.js';
export * from './encode.js';
export * from './encode-backend.js';
export * from './scram.js';
