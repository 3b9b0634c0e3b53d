import proto from '@temporalio/proto';

// A CommonJS module whose named exports Node cannot detect: use the default import.
const History = proto.temporal.api.history.v1.History;
type History = proto.temporal.api.history.v1.History;

/**
 * Fixture histories are stored in protobuf.js object form (int64 and bytes as strings, enums
 * by name), not the proto3 JSON of `temporal workflow show -o json`: the SDK reads the latter
 * with a protobuf.js copy that differs from @temporalio/proto's whenever npm cannot hoist one
 * shared protobufjs 8 (here the root holds protobufjs 7 for @grpc/proto-loader), and then
 * fails with "type must be a Type". This form goes through @temporalio/proto alone.
 */
export function historyToFixture(history: proto.temporal.api.history.v1.IHistory): string {
  // fetchHistory() types its result as the interface, but it is a decoded History message.
  return `${JSON.stringify(History.toObject(history as History, { longs: String, enums: String, bytes: String }), null, 1)}\n`;
}

export function historyFromFixture(text: string): History {
  return History.fromObject(JSON.parse(text) as Record<string, unknown>);
}
