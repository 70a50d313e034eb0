/** The ContentStore conformance suite, once per implementation (add one line per new store). */
import { createContentStore } from '../../content/index.js';
import { describeContentStore } from './helpers/content-suite.js';

describeContentStore('LocalContentStore', (root) => createContentStore({ root }));
