// A Node.js service's exceptions, sent with the official OpenTelemetry JS
// SDK over OTLP/HTTP to the error tracker's Collector distribution. Run by
// e2e_test.go with NODE_PATH pointing at the packages scripts/services.sh
// installs from the npm registry; OTLP_HTTP_URL is the Collector's
// OTLP/HTTP listen URL.
//
// It throws from several functions, some with ids in their messages and
// some with secrets in their attributes, records each exception on its
// span (span event, status description = the message, as JS code does)
// and, for logs/dup, also as a log record in the same span. It prints a
// JSON summary of what it sent, which the test checks the store against.
'use strict';

const api = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SeverityNumber } = require('@opentelemetry/api-logs');

const base = process.env.OTLP_HTTP_URL;
const resource = resourceFromAttributes({
  'service.name': 'checkout-node',
  'deployment.environment.name': 'e2e',
  'deploy.api_key': 'resource-secret-apikey-0001', // a secret in the resource
});
const tp = new BasicTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: base + '/v1/traces' }))],
});
const lp = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: (process.env.OTLP_LOGS_URL || base) + '/v1/logs' }) })],
});
const tracer = tp.getTracer('checkout');
const logger = lp.getLogger('checkout');

// The throw sites: one group each.
function loadUser(id) {
  throw new Error(`user ${id} not found`);
}
function chargeCard(orderId) {
  throw new TypeError(`card declined for order ${orderId}`);
}
function parseSettings() {
  return JSON.parse('{settings: broken');
}

// handle runs fn in a server span that carries secrets, records what it
// throws, and with dup also logs it as a log record in the span.
function handle(route, fn, dup) {
  const span = tracer.startSpan(`POST ${route}`, {
    kind: api.SpanKind.SERVER,
    attributes: {
      'http.request.method': 'POST',
      'http.route': route,
      'url.path': route,
      'url.full': `https://checkout.example.com${route}?token=url-secret-token-0002&page=1`,
      'http.request.header.authorization': ['Bearer header-secret-bearer-0003'],
      'password': 'attr-secret-password-0004',
    },
  });
  try {
    fn();
  } catch (err) {
    span.recordException(err);
    // JS code often puts the message, and more, in the status description.
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: `${err.message} (password=status-secret-0005)` });
    if (dup) {
      logger.emit({
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body: err.message,
        context: api.trace.setSpan(api.context.active(), span),
        attributes: {
          'exception.type': err.name,
          'exception.message': err.message,
          'exception.stacktrace': err.stack,
          'password': 'log-secret-password-0006',
        },
      });
    }
  }
  span.end();
}

async function main() {
  const sent = { loadUser: 0, chargeCard: 0, parseSettings: 0, dup: 0 };
  for (let i = 0; i < 5; i++) { handle('/users', () => loadUser(1000 + i), false); sent.loadUser++; }
  for (let i = 0; i < 3; i++) { handle('/pay', () => chargeCard(4711 + i), true); sent.chargeCard++; sent.dup++; }
  for (let i = 0; i < 2; i++) { handle('/settings', parseSettings, i === 0); sent.parseSettings++; if (i === 0) sent.dup++; }
  // Spans without exceptions.
  for (let i = 0; i < 20; i++) tracer.startSpan('GET /health').end();
  await tp.forceFlush();
  await lp.forceFlush();
  await tp.shutdown();
  await lp.shutdown();
  process.stdout.write(JSON.stringify(sent) + '\n');
}

main().catch((err) => { console.error(err); process.exit(1); });
