// An app that answers its own 404s and errors: `PORT=8080 node --import tsx examples/own-pages/app.ts`
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createFaultline } from '../../lib/index.js'

const faultline = createFaultline({ appName: 'own-pages', file: 'var/log/own-pages-errors.log' })

const api = express.Router()
api.get('/orders', () => {
  throw new Error('orders table is locked')
})
api.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => {
  res.locals.error = err // faultline reports this error as the traceback
  res.status(500).json({ message: 'Internal error', incident: faultline.incidentId(req) })
})

const app = express()
app.use(faultline.requestHandler()) // first: every 4xx and 5xx gets X-Incident-Id and one report
app.use('/api', api)
app.use((req, res) => {
  res.status(404).send(`No page here (incident ${faultline.incidentId(req)})`)
})

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`own-pages listening on http://127.0.0.1:${port}`)
})
process.on('SIGTERM', () => server.close(() => void faultline.close()))
