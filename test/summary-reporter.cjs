// The spec reporter, plus one closing line in the plain "N passed, N failed" form that CI reads in any language.
const Mocha = require('mocha')

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once('end', () => {
      const { passes, failures, pending } = this.stats
      process.stdout.write(
        `\ntests: ${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}\n`,
      )
    })
  }
}

module.exports = SummaryReporter
