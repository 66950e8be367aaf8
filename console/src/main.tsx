/** Entry point of the web console (bundled by console/build.mjs into dist/console/app.js). */
import { render } from 'preact';
import { App } from './app';
import './styles.css';

render(<App />, document.getElementById('app') as HTMLElement);
