import { run } from './main.js'

await run()
// A cache request the action gave up on must not keep the step alive; exit code set by setFailed.
process.exit()
