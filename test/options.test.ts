import { expect } from 'chai'
import { createFaultline, FaultlineConfigError, type FaultlineOptions } from '../lib/index.js'

function configError(
  options: unknown,
  env: Record<string, string> | false = false,
): FaultlineConfigError {
  try {
    const faultline = createFaultline({
      stderr: false,
      ...(options as FaultlineOptions),
      env: env as never,
    })
    void faultline.close()
  } catch (err) {
    expect(err).to.be.instanceOf(FaultlineConfigError)
    return err as FaultlineConfigError
  }
  throw new Error(`no error for ${JSON.stringify(options)}`)
}

/** Fails at start-up on `options`, naming `field` first in a message that says `message`. */
function expectRefused(options: unknown, field: string, message: RegExp): FaultlineConfigError {
  const err = configError(options)
  expect(err.field).to.equal(field)
  expect(err.message).to.match(
    new RegExp(`^faultline: option "${field.replace(/[[\].]/g, '\\$&')}"`),
  )
  expect(err.message).to.match(message)
  return err
}

/** Starts and closes an instance with `options`, in debug mode, where mail and the others stay off. */
async function expectAccepted(options: Record<string, unknown>): Promise<void> {
  const faultline = createFaultline({
    env: false,
    stderr: false,
    notices: false,
    spoolDir: false,
    debug: true,
    managers: ['ops@example.org'],
    ...(options as FaultlineOptions),
  })
  await faultline.close()
}

describe('options', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      'managers as a string',
      { managers: 'ops@example.org' },
      'managers',
      /must be an array of e-mail addresses; got "ops@example.org" \(string\)/,
    ],
    [
      'a manager that is no address',
      { managers: ['ops'] },
      'managers[0]',
      /must be e-mail addresses; got "ops"/,
    ],
    [
      'a mail URL with another scheme',
      { mail: 'http://mail.example.org' },
      'mail',
      /must be a URL starting with smtp: or smtps:/,
    ],
    ['a syslog value that is no URL', { syslog: 'logs.example.org' }, 'syslog', /must be a URL/],
    [
      'a tickets value of the wrong type',
      { tickets: 42 },
      'tickets',
      /must be an object; got 42 \(number\)/,
    ],
    ['an empty file path', { file: '' }, 'file', /must be a non-empty path/],
    [
      'a file level that does not exist',
      { file: { filename: 'x.log', level: 'loud' } },
      'file.level',
      /"error", "warn" or "info"/,
    ],
    ['debug as a string', { debug: 'yes' }, 'debug', /must be true or false; got "yes" \(string\)/],
    ['a bad allowed host', { allowedHosts: ['exa mple.org'] }, 'allowedHosts[0]', /host names/],
    [
      'a rate limit of zero',
      { warningLimit: { perClient: 0 } },
      'warningLimit.perClient',
      /at least 1/,
    ],
    ['a transport without log()', { transports: [{}] }, 'transports[0]', /winston transport/],
    [
      'an unknown scrub key',
      { scrub: { header: ['x'] } },
      'scrub.header',
      /one of headers, fields, values, replacement/,
    ],
    ['an app name with spaces', { appName: 'my shop' }, 'appName', /must be a name/],
    [
      'a RELP window of zero',
      { syslog: { url: 'relp://127.0.0.1', relp: { window: 0 } } },
      'syslog.relp.window',
      /whole number from 1 to 10000/,
    ],
    [
      'an unknown RELP option',
      { syslog: { url: 'relp://127.0.0.1', relp: { windowSize: 8 } } },
      'syslog.relp.windowSize',
      /known: window, ackTimeoutMs/,
    ],
    [
      'a client certificate without its key',
      { syslog: { url: 'relp+tls://127.0.0.1', tls: { cert: '-----BEGIN CERTIFICATE-----' } } },
      'syslog.tls.key',
      /comes with its private key/,
    ],
    [
      'a misspelt mail timeout',
      { managers: ['ops@example.org'], mail: { host: 'x', timeouts: { sendMss: 60_000 } } },
      'mail.timeouts.sendMss',
      /is not a mail timeout; known: connectionMs, greetingMs, socketMs, sendMs$/,
    ],
    [
      'a mail timeout given a URL',
      { managers: ['ops@example.org'], mail: { url: 'smtp://x', timeouts: { sendTimeout: 1 } } },
      'mail.timeouts.sendTimeout',
      /known: connectionMs, greetingMs, socketMs, sendMs$/,
    ],
    [
      'mail timeouts that are no object',
      { managers: ['ops@example.org'], mail: { host: 'x', timeouts: 30_000 } },
      'mail.timeouts',
      /must be an object; got 30000 \(number\)/,
    ],
    [
      'a misspelt mail TLS option',
      { managers: ['ops@example.org'], mail: { host: 'x', tls: { rejectUnauthorised: false } } },
      'mail.tls.rejectUnauthorised',
      /known: ca, servername, rejectUnauthorized$/,
    ],
    [
      'a misspelt syslog TLS option',
      { syslog: { url: 'tls://127.0.0.1', tls: { serverName: 'logs' } } },
      'syslog.tls.serverName',
      /known: ca, servername, rejectUnauthorized, cert, key$/,
    ],
    [
      'an unknown Trac option',
      {
        tickets: {
          url: 'trac+https://u:p@trac.example.org/t',
          trac: { component: 'a', owner: 'b' },
        },
      },
      'tickets.trac.owner',
      /known: type, component, priority, milestone, keywords, fields, timeoutMs$/,
    ],
    [
      'an unknown Redmine option',
      { tickets: { url: 'redmine+https://K@t.example.org/projects/p', redmine: { tracker: 2 } } },
      'tickets.redmine.tracker',
      /known: fingerprintField, trackerId, reopenStatusId$/,
    ],
    [
      'an unknown ticket ceiling option',
      { tickets: { url: 'local:tickets', ceiling: { maxPerHour: 5 } } },
      'tickets.ceiling.maxPerHour',
      /known: max, periodMs$/,
    ],
    [
      'an unknown store option',
      { store: { url: 'redis://127.0.0.1', ttlMs: 1000 } },
      'store.ttlMs',
      /one of url, redis, cluster, sentinel, prefix, timeoutMs/,
    ],
    [
      'an unknown file option',
      { file: { filename: 'x.log', maxsize: 1_000_000 } },
      'file.maxsize',
      /known: filename, level$/,
    ],
    ['an unknown stderr option', { stderr: { levle: 'info' } }, 'stderr.levle', /known: level$/],
    [
      'an unknown warningLimit option',
      { warningLimit: { perIp: 5 } },
      'warningLimit.perIp',
      /known: perClient, windowMs$/,
    ],
    [
      'a mail flag given as a string',
      { managers: ['ops@example.org'], mail: { host: 'x', secure: 'true' } },
      'mail.secure',
      /must be true or false; got "true" \(string\)$/,
    ],
    [
      'a certificate check given as a string',
      { managers: ['ops@example.org'], mail: { host: 'x', tls: { rejectUnauthorized: 'false' } } },
      'mail.tls.rejectUnauthorized',
      /must be true or false; got "false" \(string\)$/,
    ],
    [
      'force given as a word',
      { tickets: { url: 'local:tickets', force: 'yes' } },
      'tickets.force',
      /must be true or false/,
    ],
    [
      'a mail host that is no string',
      { managers: ['ops@example.org'], mail: { host: ['mail.example.org'] } },
      'mail.host',
      /must be a non-empty string; got \[ 'mail.example.org' \] \(array\)$/,
    ],
    [
      'mail recipients that are no list of addresses',
      { managers: ['ops@example.org'], mail: { host: 'x', to: 'dev@example.org' } },
      'mail.to',
      /must be a list of e-mail addresses; got "dev@example.org" \(string\)$/,
    ],
    [
      'a syslog TLS key that is no PEM, without showing it',
      { syslog: { url: 'tls://127.0.0.1', tls: { cert: 'c.pem', key: 1234 } } },
      'syslog.tls.key',
      /must be PEM text or a PEM file's path, or a list of them; got a number \(its value is not shown\)$/,
    ],
    [
      'a negative in-doubt time',
      { syslog: { url: 'tcp://127.0.0.1', inDoubtMs: -1 } },
      'syslog.inDoubtMs',
      /whole number from 0 to 60000/,
    ],
  ]

  for (const [what, options, field, message] of cases) {
    it(`should fail at start-up on ${what}, naming the field`, () => {
      expectRefused(options, field, message)
    })
  }

  it('should check mail, syslog and ticket settings in debug mode too, where those transports stay off', () => {
    for (const [options, field] of [
      [{ debug: true, mail: 'http://mail.example.org' }, 'mail'],
      [{ debug: true, syslog: 'logs.example.org' }, 'syslog'],
      [
        { debug: true, syslog: { url: 'relp://127.0.0.1', relp: { window: 0 } } },
        'syslog.relp.window',
      ],
      [{ debug: true, tickets: 'jira://tracker.example.org' }, 'tickets'],
    ] as Array<[Record<string, unknown>, string]>) {
      expect(configError(options).field, JSON.stringify(options)).to.equal(field)
    }
  })

  it('should fail at start-up on a file that cannot be opened, naming the field', () => {
    const err = configError({ file: '/proc/version/errors.log' })
    expect(err.field).to.equal('file')
    expect(err.message).to.match(
      /^faultline: option "file" names "\/proc\/version\/errors.log", which cannot be opened for appending: /,
    )
  })

  it('should ask for recipients when mail is on', () => {
    const err = configError({ mail: 'smtp://mail.example.org:587' })
    expect(err.field).to.equal('managers')
    expect(err.message).to.contain('must list at least one address when mail is on')
  })

  it('should name a bad mail field', () => {
    expect(
      configError({
        managers: ['ops@example.org'],
        mail: { host: 'mail.example.org', digestWindowMs: -1 },
      }).field,
    ).to.equal('mail.digestWindowMs')
    expect(
      configError({ managers: ['ops@example.org'], mail: { hostname: 'mail.example.org' } }).field,
    ).to.equal('mail.hostname')
    expect(configError({ managers: ['ops@example.org'], mail: { port: 25 } }).field).to.equal(
      'mail.host',
    )
    expect(
      configError({
        managers: ['ops@example.org'],
        mail: { host: 'x', tls: { ca: '/no/such/ca.pem' } },
      }).field,
    ).to.equal('mail.tls.ca')
  })

  it('should name an unknown option and suggest the one meant', () => {
    const err = configError({ manager: ['ops@example.org'] })
    expect(err.field).to.equal('manager')
    expect(err.message).to.contain('unknown option "manager"; did you mean "managers"?')
  })

  describe('mail.auth', () => {
    // each holds the secret hunter2, which no message may show
    const cases: Array<[string, unknown, string, RegExp]> = [
      [
        'a misspelt key',
        { usr: 'alerts', pass: 'hunter2' },
        'mail.auth.usr',
        /is not a mail auth option; known: user, pass, method, type$/,
      ],
      [
        'a password that is no string',
        { user: 'alerts', pass: ['hunter2'] },
        'mail.auth.pass',
        /must be a non-empty string; got an array \(its value is not shown\)$/,
      ],
      [
        'a user that is no string',
        { user: 42, pass: 'hunter2' },
        'mail.auth.user',
        /must be a non-empty string; got a number/,
      ],
      [
        'an auth that is no object',
        'alerts:hunter2',
        'mail.auth',
        /must be an object such as \{ user, pass \} .*; got a string \(its value is not shown\)$/,
      ],
      [
        'an unknown SASL method',
        { user: 'alerts', pass: 'hunter2', method: 'NTLM' },
        'mail.auth.method',
        /must be one of PLAIN, LOGIN, CRAM-MD5/,
      ],
      [
        'an auth type nodemailer does not know',
        { type: 'apikey', user: 'alerts', pass: 'hunter2' },
        'mail.auth.type',
        /must be 'login' \(the default\) or 'OAuth2'/,
      ],
      [
        'a misspelt OAuth2 key',
        { type: 'OAuth2', user: 'alerts', refresToken: 'hunter2' },
        'mail.auth.refresToken',
        /is not an OAuth2 mail auth option; known: type, user, accessToken, /,
      ],
      [
        'an OAuth2 secret that is no string',
        { type: 'OAuth2', user: 'alerts', refreshToken: 'x', clientSecret: { hunter2: 1 } },
        'mail.auth.clientSecret',
        /must be a non-empty string; got an object/,
      ],
      [
        'OAuth2 with no way to a token',
        { type: 'OAuth2', user: 'alerts', clientSecret: 'hunter2' },
        'mail.auth',
        /needs an accessToken, or what gets one/,
      ],
    ]
    for (const [what, auth, field, message] of cases) {
      it(`should fail at start-up on ${what}, naming ${field} and not showing the secret`, () => {
        const mail = { host: 'mail.example.org', auth }
        const err = expectRefused({ managers: ['ops@example.org'], mail }, field, message)
        expect(err.message).not.to.contain('hunter2')
      })
    }

    it('should accept a password login and the OAuth2 forms nodemailer takes', async () => {
      for (const auth of [
        { user: 'alerts', pass: 'hunter2' },
        { user: 'alerts', pass: 'hunter2', method: 'cram-md5' },
        { type: 'OAuth2', user: 'alerts@example.org', accessToken: 'ya29.x', expires: 0 },
        {
          type: 'oauth2',
          user: 'alerts@example.org',
          clientId: 'id',
          clientSecret: 'secret',
          refreshToken: 'r',
          accessUrl: 'https://login.example.org/token',
        },
        { type: 'OAuth2', user: 'a@example.org', serviceClient: '1', privateKey: 'PEM' },
        { type: 'OAuth2', user: 'a@example.org', provisionCallback: () => {} },
      ]) {
        await expectAccepted({ mail: { host: 'mail.example.org', auth } })
      }
    })
  })

  describe('store: cluster and sentinel objects', () => {
    const node = { url: 'redis://127.0.0.1:7000' }
    const sentinelNode = { host: '127.0.0.1', port: 26379 }
    const cases: Array<[string, unknown, string, RegExp]> = [
      [
        'a cluster without root nodes',
        { cluster: { rootNodes: [] } },
        'store.cluster.rootNodes',
        /must be a list of at least one \{ url \} or \{ socket \}; got an array of 0$/,
      ],
      [
        'a cluster root node that is no object',
        { cluster: { rootNodes: [node, 'redis://127.0.0.1:7001'] } },
        'store.cluster.rootNodes[1]',
        /must be \{ url: 'redis:\/\/host:port' \} or \{ socket: \{ host, port \} \}; got "redis:/,
      ],
      [
        'a cluster root node with neither url nor socket',
        { cluster: { rootNodes: [node, { host: '127.0.0.1', port: 7001 }] } },
        'store.cluster.rootNodes[1]',
        /got \{ host, port \} \(object\)$/,
      ],
      [
        'a cluster root node whose URL is no redis URL',
        { cluster: { rootNodes: [{ url: 'http://127.0.0.1:7000' }] } },
        'store.cluster.rootNodes[0].url',
        /must be a URL starting with redis: or rediss:/,
      ],
      [
        'a cluster root node socket with a bad port',
        { cluster: { rootNodes: [{ socket: { host: '127.0.0.1', port: '7000' } }] } },
        'store.cluster.rootNodes[0].socket.port',
        /must be a port number from 1 to 65535; got "7000" \(string\)$/,
      ],
      [
        'cluster defaults that are no object',
        { cluster: { rootNodes: [node], defaults: 'redis://127.0.0.1' } },
        'store.cluster.defaults',
        /must be an object of node-redis client options/,
      ],
      [
        'a cluster that is no object',
        { cluster: [node] },
        'store.cluster',
        /must be createCluster options with rootNodes/,
      ],
      [
        'a sentinel that is no object',
        { sentinel: 'mymaster' },
        'store.sentinel',
        /must be createSentinel options \{ name, sentinelRootNodes/,
      ],
      [
        'a sentinel without a name',
        { sentinel: { sentinelRootNodes: [sentinelNode] } },
        'store.sentinel.name',
        /must be the name the sentinels know the primary by; got undefined/,
      ],
      [
        'a sentinel without sentinel nodes',
        { sentinel: { name: 'mymaster' } },
        'store.sentinel.sentinelRootNodes',
        /must be a list of at least one \{ host, port \}; got undefined/,
      ],
      [
        'a sentinel node without a port',
        { sentinel: { name: 'mymaster', sentinelRootNodes: [sentinelNode, { host: 'b' }] } },
        'store.sentinel.sentinelRootNodes[1]',
        /must be \{ host, port \}; got \{ host \} \(object\)$/,
      ],
      [
        'a sentinel node with a port past 65535',
        { sentinel: { name: 'm', sentinelRootNodes: [{ host: 'b', port: 70_000 }] } },
        'store.sentinel.sentinelRootNodes[0].port',
        /must be a port number from 1 to 65535/,
      ],
      [
        'sentinel node client options whose socket is no object',
        {
          sentinel: {
            name: 'm',
            sentinelRootNodes: [sentinelNode],
            nodeClientOptions: { socket: 1 },
          },
        },
        'store.sentinel.nodeClientOptions.socket',
        /must be an object of socket options; got 1 \(number\)$/,
      ],
    ]
    for (const [what, store, field, message] of cases) {
      it(`should fail at start-up on ${what}, naming ${field}`, () => {
        expectRefused({ store }, field, message)
      })
    }

    it('should not show a password among the node-redis options of a refused cluster or sentinel', () => {
      for (const store of [
        { cluster: { rootNodes: [{ socket: {}, password: 'hunter2' }] } },
        { cluster: { rootNodes: [{ url: 'redis://:hunter2@127.0.0.1:7000/3' }] } },
        { sentinel: { sentinelRootNodes: [], nodeClientOptions: { password: 'hunter2' } } },
      ]) {
        const err = configError({ store })
        expect(err.message, err.message).not.to.contain('hunter2')
      }
    })

    it('should pass node-redis options it does not read on to node-redis, unchecked', async () => {
      for (const store of [
        {
          cluster: {
            rootNodes: [
              { socket: { host: '127.0.0.1', port: 1 } },
              { url: 'rediss://127.0.0.1:2/0' },
            ],
            defaults: { password: 'p', socket: { tls: false } },
            useReplicas: true,
            minimizeConnections: true,
            someFutureOption: 1,
          },
          prefix: 'faultline:{shop}:',
        },
        {
          sentinel: {
            name: 'mymaster',
            sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }],
            nodeClientOptions: { password: 'p' },
            sentinelClientOptions: { socket: { connectTimeout: 100 } },
            masterPoolSize: 2,
          },
        },
      ]) {
        await expectAccepted({ store: { ...store, timeoutMs: 10 } })
      }
    })
  })

  it('should never print a password from a transport URL in an error', () => {
    const err = configError({ mail: 'http://user:hunter2@mail.example.org' })
    expect(err.message).not.to.contain('hunter2')
    expect(err.message).to.contain('//user:***@mail.example.org')
  })

  it('should name what is missing from a tickets URL', () => {
    const err = configError({ tickets: 'redmine+https://tracker.example.org/projects/shop' })
    expect(err.field).to.equal('tickets')
    expect(err.message).to.contain('must carry the API key')
    expect(
      configError({ tickets: 'redmine+https://KEY@tracker.example.org/issues' }).message,
    ).to.contain('must name the project')
    expect(configError({ tickets: { url: 'local:x', digestWindowMs: 0 } }).field).to.equal(
      'tickets.digestWindowMs',
    )
    expect(configError({ tickets: { adapter: { name: 'half' } } }).field).to.equal(
      'tickets.adapter',
    )
  })

  describe('environment', () => {
    it('should read a FAULTLINE_* setting the options leave unset, and name the variable when it is wrong', () => {
      const err = configError({}, { FAULTLINE_SYSLOG: 'ftp://logs.example.org' })
      expect(err.field).to.equal('FAULTLINE_SYSLOG')
      expect(err.message).to.contain('environment variable FAULTLINE_SYSLOG is wrong')
      expect(err.message).to.contain('ftp://logs.example.org')
    })

    it('should fail on a FAULTLINE_DEBUG that is not a boolean, naming the variable', () => {
      const err = configError({}, { FAULTLINE_DEBUG: 'maybe' })
      expect(err.field).to.equal('FAULTLINE_DEBUG')
      expect(err.message).to.contain('environment variable FAULTLINE_DEBUG must be one of')
    })

    it('should fail at start-up on a variable it reads from env that holds no string, naming it', () => {
      const err = configError({}, { NODE_ENV: 'production', FAULTLINE_DEBUG: 1 as never })
      expect(err.field).to.equal('env.FAULTLINE_DEBUG')
      expect(err.message).to.equal(
        'faultline: option "env.FAULTLINE_DEBUG" must be a string, as in process.env; got 1 (number)',
      )
      expect(configError({}, { NODE_ENV: ['test'] as never }).field).to.equal('env.NODE_ENV')
    })

    it('should keep a cluster or sentinel store the code sets when FAULTLINE_STORE is set too', async () => {
      for (const store of [
        { cluster: { rootNodes: [{ url: 'redis://127.0.0.1:1' }] }, timeoutMs: 10 },
        {
          sentinel: { name: 'm', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] },
          timeoutMs: 10,
        },
      ]) {
        const faultline = createFaultline({
          stderr: false,
          notices: false,
          store,
          env: { FAULTLINE_STORE: 'redis://127.0.0.1:2' },
        })
        await faultline.close()
      }
    })

    it('should turn debug on and off from FAULTLINE_DEBUG', async () => {
      const on = createFaultline({
        stderr: false,
        env: { FAULTLINE_DEBUG: 'on', NODE_ENV: 'production' },
      })
      const off = createFaultline({
        stderr: false,
        env: { FAULTLINE_DEBUG: '0', NODE_ENV: 'development' },
      })
      expect(on.debug).to.equal(true)
      expect(off.debug).to.equal(false)
      await Promise.all([on.close(), off.close()])
    })

    it('should default debug on only for NODE_ENV development or test, and off when NODE_ENV is unset', async () => {
      const cases: Array<[string | undefined, boolean]> = [
        ['development', true],
        ['test', true],
        ['production', false],
        [undefined, false],
        ['staging', false],
      ]
      for (const [nodeEnv, debug] of cases) {
        const faultline = createFaultline({
          stderr: false,
          env: nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv },
        })
        expect(faultline.debug, String(nodeEnv)).to.equal(debug)
        expect(faultline.throwErrors, String(nodeEnv)).to.equal(nodeEnv === 'test')
        await faultline.close()
      }
    })

    it('should write reports to the file FAULTLINE_FILE names', async () => {
      const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      const dir = mkdtempSync(join(tmpdir(), 'faultline-env-'))
      try {
        const faultline = createFaultline({
          stderr: false,
          env: { FAULTLINE_FILE: join(dir, 'nested', 'from-env.log') },
        })
        const id = faultline.capture(new Error('from a job'))
        await faultline.close()
        expect(JSON.parse(readFileSync(join(dir, 'nested', 'from-env.log'), 'utf8'))).to.include({
          id,
          kind: 'traceback',
        })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
})

describe('URL-shaped options', () => {
  // each with a password, which no message may show
  const malformed: Array<[string, Record<string, unknown>, string]> = [
    ['a syslog URL with no host', { syslog: 'relp://' }, 'syslog'],
    ['a syslog URL with no host, over TLS', { syslog: 'tls://:6514' }, 'syslog'],
    ['a syslog URL with port 0', { syslog: 'tcp://logs.example.org:0' }, 'syslog'],
    ['a syslog URL with a port past 65535', { syslog: 'udp://logs.example.org:65536' }, 'syslog'],
    ['a syslog URL with a path', { syslog: 'tcp://logs.example.org:601/logs' }, 'syslog'],
    ['a unix socket URL with a host', { syslog: 'unix://logs.example.org/dev/log' }, 'syslog'],
    ['a unix socket URL with no path', { syslog: 'unix://' }, 'syslog'],
    [
      'a syslog object with an empty host',
      { syslog: { protocol: 'tcp', host: '' } },
      'syslog.host',
    ],
    ['a mail URL with no host', { mail: 'smtp://alerts:hunter2@:587' }, 'mail'],
    ['a mail URL with no host at all', { mail: 'smtps://' }, 'mail'],
    ['a mail URL with port 0', { mail: 'smtp://alerts:hunter2@mail.example.org:0' }, 'mail'],
    [
      'a mail URL with a port past 65535',
      { mail: 'smtp://alerts:hunter2@mail.example.org:99999' },
      'mail',
    ],
    ['a mail URL with a path', { mail: 'smtp://alerts:hunter2@mail.example.org/inbox' }, 'mail'],
    ['a mail object URL with no host', { mail: { url: 'smtp://alerts:hunter2@' } }, 'mail'],
    ['a mail URL with a user and no password', { mail: 'smtp://hunter2@mail.example.org' }, 'mail'],
    [
      'a mail URL whose password is not valid percent-encoding',
      { mail: 'smtp://alerts:hunter2%@mail.example.org' },
      'mail',
    ],
    [
      'a mail URL whose user is not valid percent-encoding',
      { mail: 'smtp://al%zzerts:hunter2@mail.example.org' },
      'mail',
    ],
    [
      'a tickets URL whose key is not valid percent-encoding',
      { tickets: 'redmine+https://hunter2%@t.example.org/projects/shop' },
      'tickets',
    ],
    [
      'a tickets URL whose project is not valid percent-encoding',
      { tickets: 'redmine+https://hunter2@t.example.org/projects/sh%zzop' },
      'tickets',
    ],
    [
      'a Trac URL whose password is not valid percent-encoding',
      { tickets: 'trac+https://bot:hunter2%@t.example.org/trac' },
      'tickets',
    ],
    [
      'a unix socket path that is not valid percent-encoding',
      { syslog: 'unix:///dev/lo%zzg' },
      'syslog',
    ],
    [
      'a store URL whose password is not valid percent-encoding',
      { store: 'redis://:hunter2%@127.0.0.1' },
      'store',
    ],
    [
      'a tickets URL with no host',
      { tickets: 'redmine+https://hunter2@/projects/shop' },
      'tickets',
    ],
    [
      'a tickets URL with port 0',
      { tickets: 'redmine+https://hunter2@t.example.org:0/projects/shop' },
      'tickets',
    ],
    [
      'a tickets URL with a port past 65535',
      { tickets: 'redmine+https://hunter2@t.example.org:70000/projects/shop' },
      'tickets',
    ],
    [
      'a tickets URL of another scheme',
      { tickets: 'jira+https://hunter2@t.example.org/projects/shop' },
      'tickets',
    ],
    ['a store URL with no host', { store: 'redis://:hunter2@' }, 'store'],
    ['a store URL with port 0', { store: 'redis://:hunter2@127.0.0.1:0' }, 'store'],
    ['a store URL with a port past 65535', { store: 'redis://:hunter2@127.0.0.1:65536' }, 'store'],
    [
      'a store URL whose path is no database',
      { store: 'redis://:hunter2@127.0.0.1:6379/keys' },
      'store',
    ],
    [
      'a store object URL of another scheme',
      { store: { url: 'http://:hunter2@127.0.0.1' } },
      'store.url',
    ],
  ]
  for (const [what, options, field] of malformed) {
    it(`should fail at start-up on ${what}, naming ${field} and hiding the password`, () => {
      const err = configError({ managers: ['ops@example.org'], ...options })
      expect(err.field).to.equal(field)
      expect(err.message).to.match(new RegExp(`^faultline: option "${field}"`))
      expect(err.message).not.to.contain('hunter2')
    })
  }

  it('should check a URL the same in debug mode, where syslog, mail and tickets stay off', () => {
    for (const options of [
      { syslog: 'relp://' },
      { mail: 'smtp://:587' },
      { tickets: 'redmine+https://k@:0/projects/p' },
    ])
      expect(configError({ debug: true, ...options }).field).to.equal(Object.keys(options)[0])
  })

  it('should hide a password holding an @, and a tracker key written as the user, in every message', () => {
    const withAt = configError({ mail: 'http://alerts:hun@ter2@mail.example.org' })
    expect(withAt.message).not.to.match(/hun|ter2/)
    const key = configError({ tickets: 'jira://hunter2@t.example.org/projects/p' })
    expect(key.message).not.to.contain('hunter2')
    const long = configError({ store: `redis://:${'x'.repeat(90)}hunter2@127.0.0.1:0` })
    expect(long.message).not.to.contain('hunter2')
  })

  it('should accept the well-formed URLs', async () => {
    for (const options of [
      { syslog: 'relp://127.0.0.1:2514' },
      { syslog: 'udp://[::1]:514' },
      { syslog: 'unix:///dev/log' },
      { mail: 'smtp://alerts:hunter2@mail.example.org:587/?from=a@example.org' },
      { tickets: 'redmine+https://KEY@t.example.org:8443/redmine/projects/shop' },
    ]) {
      await expectAccepted(options)
    }
  })
})
