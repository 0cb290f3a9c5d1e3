import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { compileHostCheck } from '../lib/middleware/hosts.js'
import { createHarness } from './helpers.js'

describe('allowed hosts, asked again and again', () => {
  it('should give the same answer for a Host value the second time as the first', () => {
    const isAllowed = compileHostCheck(['shop.example', '.api.example'])
    const values = ['shop.example', 'SHOP.example:8080', 'a.api.example', 'evil.example', '', 'x y']
    const first = values.map((value) => isAllowed(value))
    const again = values.map((value) => isAllowed(value))
    expect(first).to.deep.equal([true, true, true, false, false, false])
    expect(again).to.deep.equal(first)
    expect(isAllowed(undefined)).to.equal(false)
  })

  it('should keep judging new Host values once it remembers many allowed ones', () => {
    const isAllowed = compileHostCheck(['.shop.example'])
    for (let i = 0; i < 200; i++) expect(isAllowed(`s${i}.shop.example`)).to.equal(true)
    expect(isAllowed('shop.example.evil')).to.equal(false)
    expect(isAllowed('s1.shop.example')).to.equal(true)
  })

  it('should refuse a disallowed Host after serving allowed ones on the same app', async () => {
    const h = createHarness({ allowedHosts: ['shop.example'] })
    try {
      const app = express()
      app.use(h.faultline.requestHandler())
      app.get('/ok', (_req, res) => {
        res.send('ok')
      })
      app.use(h.faultline.errorHandler())
      for (let i = 0; i < 3; i++)
        await request(app).get('/ok').set('Host', 'shop.example').expect(200)
      await request(app).get('/ok').set('Host', 'evil.example').expect(400)
      await request(app).get('/ok').set('Host', 'shop.example').expect(200)
    } finally {
      await h.faultline.close()
    }
  })
})
