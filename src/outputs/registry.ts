/**
 * Every output kind Lanner can build, in the order `lanner plugins` and the reference list them;
 * a new output is one file plus one line here.
 */
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

/** The output a config block's `type` names. */
export function findOutput(name: string): OutputDescriptor | undefined {
  return OUTPUTS.find((d) => d.name === name);
}
