import { expect } from 'chai'
import { startRedmine, type Redmine } from '../support/redmine.js'

// Checks the real-Redmine test harness itself and pins down the REST behaviour a Redmine adapter relies on.
describe('Redmine harness (real Redmine 5.0 on 127.0.0.1)', function () {
  let redmine: Redmine
  let n = 0
  const fingerprint = () => `fp${Date.now().toString(16)}x${++n}`

  async function createIssue(fp: string, subject = `[${fp}] TypeError: x is not a function`) {
    const res = await redmine.request('POST', '/issues.json', {
      body: {
        issue: {
          project_id: redmine.projectId,
          tracker_id: redmine.trackerId,
          subject,
          description: 'TypeError: x is not a function\n    at handler (app.js:1:1)',
          custom_fields: [{ id: redmine.fingerprintFieldId, value: fp }],
        },
      },
    })
    expect(res.status, JSON.stringify(res.body)).to.equal(201)
    return res
  }

  before(async function () {
    this.timeout(180_000)
    redmine = await startRedmine()
  })

  after(async function () {
    this.timeout(30_000)
    if (!redmine) return
    await redmine.close()
    console.log(`      Redmine timings (s): ${JSON.stringify(redmine.timings)}`)
  })

  beforeEach(async () => {
    await redmine.deleteAllIssues()
  })

  it('should create an issue with the Fingerprint custom field (201 + issue JSON)', async () => {
    const fp = fingerprint()
    const res = await createIssue(fp)
    const issue = res.body.issue
    expect(issue.id).to.be.a('number')
    expect(issue.project).to.deep.equal({ id: redmine.projectId, name: 'Errors' })
    expect(issue.tracker.id).to.equal(redmine.trackerId)
    expect(issue.status).to.deep.include({ id: redmine.openStatusId, is_closed: false })
    expect(issue.custom_fields).to.deep.equal([
      { id: redmine.fingerprintFieldId, name: 'Fingerprint', value: fp },
    ])
    // Redmine stores line breaks in the description as CRLF
    expect(issue.description).to.equal(
      'TypeError: x is not a function\r\n    at handler (app.js:1:1)',
    )
    expect(issue.closed_on).to.equal(null)
    expect(res.headers.get('location')).to.equal(`${redmine.url}/issues/${issue.id}`)
  })

  it('should find an issue by cf_<id>=<fingerprint>, exactly and inside the project only', async () => {
    const fp = fingerprint()
    const { id } = (await createIssue(fp)).body.issue
    await createIssue(fingerprint())
    const cf = `cf_${redmine.fingerprintFieldId}`
    const found = await redmine.listIssues({ [cf]: fp })
    expect(found.map((i) => i.id)).to.deep.equal([id])
    expect(found[0]!.custom_fields).to.deep.equal([
      { id: redmine.fingerprintFieldId, name: 'Fingerprint', value: fp },
    ])
    expect(await redmine.listIssues({ [cf]: fp.slice(0, -1) })).to.have.length(0) // "=" is exact
    expect(await redmine.listIssues({ [cf]: `~${fp.slice(2)}` })).to.have.length(1) // "~" is contains
    expect(
      await redmine.listIssues({ [cf]: fp, project_id: String(redmine.otherProjectId) }),
    ).to.have.length(0)
  })

  it('should ignore a filter on an unknown custom field and return everything (adapter pitfall)', async () => {
    await createIssue(fingerprint())
    await createIssue(fingerprint())
    expect(await redmine.listIssues({ cf_9999: 'no-such-value' })).to.have.length(2)
  })

  it('should find an issue by a subject substring (subject=~)', async () => {
    const fp = fingerprint()
    const { id } = (await createIssue(fp)).body.issue
    await createIssue(fingerprint(), 'something else entirely')
    expect((await redmine.listIssues({ subject: `~[${fp}]` })).map((i) => i.id)).to.deep.equal([id])
    expect(
      (await redmine.listIssues({ subject: `~${fp.toUpperCase()}` })).map((i) => i.id),
    ).to.deep.equal([id]) // case-insensitive
  })

  it('should add a note with PUT (204, empty body) and read it back in journals', async () => {
    const { id } = (await createIssue(fingerprint())).body.issue
    const res = await redmine.request('PUT', `/issues/${id}.json`, {
      body: { issue: { notes: 'Seen again (occurrence 2)\nat 12:00' } },
    })
    expect(res.status).to.equal(204)
    expect(res.body).to.equal(null)
    const issue = await redmine.getIssue(id)
    expect(issue.journals.map((j) => j.notes)).to.deep.equal([
      'Seen again (occurrence 2)\nat 12:00',
    ])
  })

  it('should hide a closed issue from a default search but return it with status_id=*, and reopen it by PUT status_id', async () => {
    const fp = fingerprint()
    const { id } = (await createIssue(fp)).body.issue
    const cf = `cf_${redmine.fingerprintFieldId}`
    await redmine.closeIssue(id)

    const plain = await redmine.request('GET', '/issues.json', {
      query: { project_id: String(redmine.projectId), [cf]: fp },
    })
    expect(plain.status).to.equal(200)
    expect(plain.body).to.deep.include({ issues: [], total_count: 0 })
    const all = await redmine.listIssues({ [cf]: fp })
    expect(all.map((i) => [i.id, i.status.id])).to.deep.equal([[id, redmine.closedStatusId]])
    expect(all[0]!.status.is_closed).to.equal(true)

    const reopen = await redmine.request('PUT', `/issues/${id}.json`, {
      body: { issue: { status_id: redmine.openStatusId, notes: 'Regressed' } },
    })
    expect(reopen.status).to.equal(204)
    const issue = await redmine.getIssue(id)
    expect(issue.status.id).to.equal(redmine.openStatusId)
    expect(issue.journals.at(-1)).to.deep.include({ notes: 'Regressed' })
    expect(issue.journals.at(-1)!.details).to.deep.include({
      property: 'attr',
      name: 'status_id',
      old_value: String(redmine.closedStatusId),
      new_value: String(redmine.openStatusId),
    })
    const again = await redmine.request('GET', '/issues.json', {
      query: { project_id: String(redmine.projectId), [cf]: fp },
    })
    expect(again.body.total_count).to.equal(1)
  })

  it('should silently ignore an unknown status_id on PUT (204, status unchanged)', async () => {
    const { id } = (await createIssue(fingerprint())).body.issue
    const res = await redmine.request('PUT', `/issues/${id}.json`, {
      body: { issue: { status_id: 9999 } },
    })
    expect(res.status).to.equal(204)
    expect((await redmine.getIssue(id)).status.id).to.equal(redmine.openStatusId)
  })

  it('should answer 401 to a POST with a wrong or missing key, but 200 to a GET (public project)', async () => {
    const wrong = '0'.repeat(40)
    const body = { issue: { project_id: redmine.projectId, subject: 'should not exist' } }
    const post = await redmine.request('POST', '/issues.json', { body, apiKey: wrong })
    expect(post.status).to.equal(401)
    expect(post.body).to.equal(null)
    expect(post.headers.get('www-authenticate')).to.equal('Basic realm="Redmine API"')
    expect((await redmine.request('POST', '/issues.json', { body, apiKey: null })).status).to.equal(
      401,
    )
    const get = await redmine.request('GET', '/issues.json', {
      apiKey: wrong,
      query: { project_id: String(redmine.projectId) },
    })
    expect(get.status).to.equal(200)
    expect(
      (await redmine.request('GET', '/users/current.json', { apiKey: wrong })).status,
    ).to.equal(401)
    expect(await redmine.listIssues()).to.have.length(0)
  })

  it('should answer 422 with an errors array to a blank or over-long subject', async () => {
    const blank = await redmine.request('POST', '/issues.json', {
      body: { issue: { project_id: redmine.projectId, subject: '' } },
    })
    expect(blank.status).to.equal(422)
    expect(blank.body).to.deep.equal({ errors: ['Subject cannot be blank'] })
    const long = await redmine.request('POST', '/issues.json', {
      body: { issue: { project_id: redmine.projectId, subject: 'x'.repeat(256) } },
    })
    expect(long.status).to.equal(422)
    expect(long.body).to.deep.equal({ errors: ['Subject is too long (maximum is 255 characters)'] })
  })

  it('should keep the data across stop() and start() on the same port', async function () {
    this.timeout(90_000)
    const fp = fingerprint()
    const { id } = (await createIssue(fp)).body.issue
    const { url, pid } = redmine
    await redmine.stop()
    const down = await redmine.request('GET', '/issues.json').then(
      () => 'answered',
      (err: Error & { cause?: { code?: string } }) => err.cause?.code,
    )
    expect(down).to.equal('ECONNREFUSED')
    await redmine.start()
    expect(redmine.url).to.equal(url)
    expect(redmine.pid).to.not.equal(pid)
    const found = await redmine.listIssues({ [`cf_${redmine.fingerprintFieldId}`]: fp })
    expect(found.map((i) => i.id)).to.deep.equal([id])
  })
})
