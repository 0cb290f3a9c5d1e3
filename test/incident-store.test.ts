import { LocalIncidentStore } from '../lib/store/local-incidents.js'
import {
  describeIncidentStore,
  describeIncidentStoreBounds,
} from './support/incident-store-suite.js'

describeIncidentStore('local', (now) => Promise.resolve(new LocalIncidentStore({ now })))
describeIncidentStoreBounds('local', (now) =>
  Promise.resolve(new LocalIncidentStore({ now, maxFingerprints: 3, maxIncidents: 5 })),
)
