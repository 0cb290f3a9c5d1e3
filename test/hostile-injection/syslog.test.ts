import { expect } from 'chai'
import request from 'supertest'
import type { Logger } from 'winston'
import { formatSyslogLine, unescapeLine } from '../../transports/syslog/format.js'
import { createApp, createHarness, waitUntil } from '../helpers.js'

describe('hostile input', () => {
  describe('syslog lines', () => {
    /** A strict RFC 5424 reader: the header fields, then structured data parsed element by element. */
    function parse5424(line: string): {
      fields: string[]
      sd: Array<{ id: string; params: Array<[string, string]> }>
      msg: string
    } {
      const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line)
      expect(head, line).to.not.equal(null)
      const fields = head!.slice(2, 7)
      const [, hostname, appName, procid, msgid] = fields
      for (const [field, max] of [
        [hostname, 255],
        [appName, 48],
        [procid, 128],
        [msgid, 32],
      ] as Array<[string, number]>) {
        expect(field, line).to.match(/^[\x21-\x7e]+$/)
        expect(field.length, field).to.be.at.most(max)
      }
      let at = head![0].length
      const sd: Array<{ id: string; params: Array<[string, string]> }> = []
      if (line[at] === '-') at++
      while (line[at] === '[') {
        const id = /^\[([^\x00-\x20=\]"\x7f-\uffff]{1,32})/.exec(line.slice(at))
        expect(id, line.slice(at)).to.not.equal(null)
        at += id![0].length
        const params: Array<[string, string]> = []
        while (line[at] === ' ') {
          const name = /^ ([^\x00-\x20=\]"\x7f-\uffff]{1,32})="/.exec(line.slice(at))
          expect(name, line.slice(at)).to.not.equal(null)
          at += name![0].length
          let value = ''
          while (line[at] !== '"') {
            expect(at, 'unterminated SD value').to.be.below(line.length)
            // RFC 5424 6.3.3: only \", \\ and \] are escapes; any other backslash stands for itself
            if (line[at] === '\\' && '"\\]'.includes(line[at + 1] ?? '')) at++
            else expect(line[at], 'unescaped ] in an SD value').to.not.equal(']')
            value += line[at++]
          }
          at++
          params.push([name![1]!, value])
        }
        expect(line[at], line.slice(at)).to.equal(']')
        at++
        sd.push({ id: id![1]!, params })
      }
      expect(line[at] === undefined || line[at] === ' ', line.slice(at)).to.equal(true)
      return { fields, sd, msg: line.slice(at + 1) }
    }

    const hostile = [
      'a b',
      'x\n<13>1 2020-01-01T00:00:00Z evil app - FORGED - injected',
      'caf\u00e9',
      'A'.repeat(100),
      '[x="y"]',
      '"',
      'a]b\\',
      '\u2028',
      '\u0085',
      '\r',
      '\u0000',
    ]

    it("should keep a request-controlled event out of the MSGID and the line's framing, on a real request", async () => {
      const h = createHarness()
      try {
        const app = createApp(h.faultline)
        app.get('/e', (req, res) => {
          // (a benchmark's pino-http typing also claims req.log; this is faultline's winston logger)
          ;(req.log as unknown as Logger).info('user event', { event: String(req.query.e) })
          res.send('ok')
        })
        for (const e of hostile) await request(app).get('/e').query({ e }).expect(200)
        const records = await waitUntil(
          () => {
            const r = h.records.filter((x) => x.message === 'user event')
            return r.length >= hostile.length ? r : undefined
          },
          10_000,
          'the info lines',
        )
        for (const format of ['rfc5424', 'rfc3164'] as const) {
          for (const record of records) {
            const line = formatSyslogLine(record, {
              format,
              facility: 16,
              hostname: 'web-1',
              appName: 'shop',
              procid: '42',
              sdId: 'faultline@32473',
            })
            expect(line, line).to.not.match(/[\r\n\0\u0085\u2028\u2029]/)
            if (format === 'rfc5424') {
              const { sd } = parse5424(line)
              expect(sd[0]?.params.find(([k]) => k === 'event')).to.not.equal(undefined)
            }
          }
        }
      } finally {
        await h.faultline.close()
      }
    })

    it('should make every header field printable US-ASCII within its length, whatever the transport was given', () => {
      for (const bad of hostile) {
        const header = {
          format: 'rfc5424' as const,
          facility: 16,
          hostname: `host ${bad}`,
          appName: `app ${bad}`,
          procid: `1 ${bad}`,
          sdId: `sd ${bad}=x`,
        }
        const line = formatSyslogLine(
          { level: 'info', message: 'm', event: bad, time: `2020 ${bad}` },
          header,
        )
        expect(line).to.not.match(/[\r\n\0]/)
        parse5424(line)
        const legacy = formatSyslogLine(
          { level: 'info', message: 'm', event: bad },
          { ...header, format: 'rfc3164' },
        )
        expect(legacy).to.match(
          /^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d [\x21-\x7e]+ [A-Za-z0-9_.-]{1,32}\[[\x21-\x7e]+\]: /,
        )
        expect(legacy).to.not.match(/[\r\n\0]/)
      }
    })

    it('should escape quotes, backslashes and ] in structured-data values of a report and survive a forged one', () => {
      for (const bad of hostile) {
        const report = {
          level: 'warn',
          kind: 'warning',
          id: `I${bad}`,
          fingerprint: `f${bad}`,
          message: `m${bad}`,
          time: 'x',
          suspicious: `probe ${bad}`,
          request: { method: `GET${bad}`, url: `/p${bad}?q=1`, route: `/r/${bad}` },
        }
        const { sd, msg } = parse5424(
          formatSyslogLine(report, {
            format: 'rfc5424',
            facility: 1,
            hostname: 'h',
            appName: 'a',
            procid: '1',
            sdId: 'faultline@32473',
          }),
        )
        const params = Object.fromEntries(sd[0]!.params)
        expect(unescapeLine(params.suspicious!)).to.equal(`probe ${bad}`)
        expect(unescapeLine(params.route!)).to.equal(`/r/${bad}`)
        expect(msg).to.not.match(/[\r\n]/)
        // a record that only pretends to be a report, with fields of the wrong types, still makes a line
        const forged = {
          level: 'warn',
          kind: `w ${bad}`,
          id: '1',
          fingerprint: '2',
          message: 5,
          request: { url: 7, method: {} },
          error: { stack: 1, errors: 'not an array' },
        }
        parse5424(
          formatSyslogLine(forged as unknown as Record<string, unknown>, {
            format: 'rfc5424',
            facility: 1,
            hostname: 'h',
            appName: 'a',
            procid: '1',
            sdId: 'x',
          }),
        )
      }
    })
  })
})
