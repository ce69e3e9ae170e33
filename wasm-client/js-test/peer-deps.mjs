// `node --import ./peer-deps.mjs`: the files under test live outside this folder (../js/, or a
// built package), so Node would look for their peer dependencies `vue` and `vuex` next to them and
// not find them. An application provides its peers; here this folder does, through a resolve hook.
import { register } from 'node:module';

register('./peer-deps-hooks.mjs', import.meta.url);
