/** Every output kind Lanner can build, looked up by the `type` a config names. */
import { elasticsearchDescriptor } from './elasticsearch.js';
import { fileDescriptor } from './file.js';
import { kafkaDescriptor } from './kafka.js';
import { lokiDescriptor } from './loki.js';
import type { OutputDescriptor } from './output.js';
import { splunkHecDescriptor } from './splunk-hec.js';
import { stdoutDescriptor } from './stdout.js';
import { syslogDescriptor } from './syslog.js';
import { webhookDescriptor } from './webhook.js';

export const OUTPUTS: readonly OutputDescriptor[] = [
  stdoutDescriptor,
  fileDescriptor,
  webhookDescriptor,
  syslogDescriptor,
  splunkHecDescriptor,
  elasticsearchDescriptor,
  lokiDescriptor,
  kafkaDescriptor,
];

export function findOutput(type: string): OutputDescriptor | undefined {
  return OUTPUTS.find((d) => d.type === type);
}
