import { createEslintConfig } from '@app/eslint-config';

export default createEslintConfig({ tsconfigRootDir: import.meta.dirname });
