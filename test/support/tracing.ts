import { context, propagation, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

/**
 * Registers OpenTelemetry for a describe block as an app does (the global tracer provider,
 * propagator and AsyncLocalStorage context manager), exporting to memory; the spans are cleared
 * before each test, and everything is unregistered after the block.
 */
export function tracingForSuite(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter()
  let provider: NodeTracerProvider | undefined
  before(() => {
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    provider.register()
  })
  after(async () => {
    await provider?.shutdown()
    trace.disable()
    context.disable()
    propagation.disable()
  })
  beforeEach(() => exporter.reset())
  return exporter
}
