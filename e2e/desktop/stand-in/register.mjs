// `node --import ./register.mjs dist-electron/main.js`: installs the resolution hook before main.js loads.
import { register } from 'node:module';

register('./loader.mjs', import.meta.url);
