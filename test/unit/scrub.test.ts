import { expect } from 'chai'
import { compileScrubber, scrubStrings } from '../../lib/scrub/scrub.js'

const S = '[scrubbed]'
const scrubber = compileScrubber()

/** Everything the scrubber shows of `value`, as one string, to look for a leak anywhere in it. */
const shown = (value: unknown) => JSON.stringify(value)

describe('compileScrubber', () => {
  it('should hide secret headers and keep the rest as they were', () => {
    const secrets = new Set<string>()
    const out = scrubber.headers(
      {
        authorization: 'Bearer eyJhbGciOi.payload.sig',
        cookie: 'sid=s3ss10n-value; theme=dark',
        'x-api-key': 'k-123456789',
        'user-agent': 'curl/8.5',
        accept: ['text/html', 'application/json'],
      },
      secrets,
    )
    expect(out).to.deep.equal({
      authorization: S,
      cookie: S,
      'x-api-key': S,
      'user-agent': 'curl/8.5',
      accept: 'text/html, application/json',
    })
  })

  it("should hide a secret it found anywhere else in the same report's text", () => {
    const secrets = new Set<string>()
    scrubber.headers({ authorization: 'Bearer eyJhbGciOi.payload.sig' }, secrets)
    scrubber.fields({ user: 'ann', password: 'hunter2!' }, secrets)
    scrubber.url('/login?token=tok_9f8e7d6c', secrets)
    const text = scrubber.text(
      'login failed for ann with hunter2! using eyJhbGciOi.payload.sig and tok_9f8e7d6c',
      secrets,
    )
    expect(text).to.equal(`login failed for ann with ${S} using ${S} and ${S}`)
  })

  it('should hide the password inside Basic credentials when it is quoted alone', () => {
    const secrets = new Set<string>()
    const basic = Buffer.from('ann:pa55word-x').toString('base64')
    scrubber.headers({ authorization: `Basic ${basic}` }, secrets)
    expect(scrubber.text('bad password pa55word-x', secrets)).to.equal(`bad password ${S}`)
  })

  it('should hide secret fields at any depth, and the values under them', () => {
    const secrets = new Set<string>()
    const out = scrubber.fields(
      { order: { id: 7, card: { number: '4111111111111111', cvv: '123' } }, api_key: 'abc-123' },
      secrets,
    )
    expect(out).to.deep.equal({ order: { id: 7, card: S }, api_key: S })
    expect(scrubber.text('charged 4111111111111111 with abc-123', secrets)).to.not.match(
      /4111111111111111|abc-123/,
    )
  })

  it('should hide secret query and fragment values in a URL, keeping the path and the other values', () => {
    const secrets = new Set<string>()
    expect(
      scrubber.url('/cb?code=x&access_token=at-12345&page=2#id_token=it-67890', secrets),
    ).to.equal(
      `/cb?code=x&access_token=${encodeURIComponent(S)}&page=2#id_token=${encodeURIComponent(S)}`,
    )
    expect(scrubber.url('https://ann:s3cret-pw@db.example/x', secrets)).to.not.contain('s3cret-pw')
  })

  it('should hide credentials, bearer tokens, key=value secrets and card numbers in free text', () => {
    const text = scrubber.text(
      'connect postgres://app:pg-pass-1@db/x failed; Authorization: Bearer abc.def.ghi123; password=letmein42 card 4242 4242 4242 4242',
      new Set(),
    )
    for (const leak of ['pg-pass-1', 'abc.def.ghi123', 'letmein42', '4242 4242 4242 4242'])
      expect(text).to.not.contain(leak)
    expect(text).to.contain('connect postgres://')
  })

  it('should not blank ordinary words because a secret field held them', () => {
    const secrets = new Set<string>()
    scrubber.url('/x?token=undefined&api_key=TypeError', secrets)
    expect(scrubber.text('TypeError: x is undefined', secrets)).to.equal(
      'TypeError: x is undefined',
    )
  })

  it('should leave a number that is not a card number alone, and a 16-digit Luhn number not', () => {
    expect(scrubber.text('order 1234567890123456 of 3', new Set())).to.contain('1234567890123456')
    expect(scrubStrings({ n: 4111111111111111, qty: 3 }, scrubber, new Set())).to.deep.equal({
      n: S,
      qty: 3,
    })
  })

  it("should apply the app's own names, patterns and replacement", () => {
    const own = compileScrubber({
      headers: ['x-tenant-key'],
      fields: ['iban', /^acct_/],
      values: [/\bsk_live_\w+/],
      replacement: '***',
    })
    const secrets = new Set<string>()
    expect(own.headers({ 'X-Tenant-Key': 'tk-998877' }, secrets)).to.deep.equal({
      'X-Tenant-Key': '***',
    })
    expect(
      own.fields({ iban: 'DE89370400440532013000', acct_ref: 'r1', name: 'ann' }, secrets),
    ).to.deep.equal({
      iban: '***',
      acct_ref: '***',
      name: 'ann',
    })
    expect(own.text('key sk_live_abc and sk_live_def', secrets)).to.equal('key *** and ***')
  })

  it('should bound what it walks: depth, keys, and text', () => {
    let deep: Record<string, unknown> = { leaf: 'x' }
    for (let n = 0; n < 50; n++) deep = { deep }
    expect(shown(scrubber.fields(deep, new Set()))).to.contain('[too deep]')
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, n) => [`k${n}`, n]))
    expect(Object.keys(scrubber.fields(wide, new Set()) as object)).to.have.length(100)
    const huge = scrubber.fields({ a: 'x'.repeat(1_000_000) }, new Set()) as { a: string }
    expect(huge.a.length).to.be.below(10_000)
  })

  it('should survive objects whose fields throw when read', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no keys')
        },
      },
    )
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('getter')
      },
    })
    expect(() => scrubber.fields({ hostile, getter }, new Set())).to.not.throw()
  })
})
