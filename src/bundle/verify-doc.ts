/**
 * VERIFY.md, shipped in every bundle. Its bytes depend only on the exporter version,
 * so reviewers can compare it with the copy published in the project's README.
 */
export const VERIFY_MD = `# Verifying this evidence bundle with standard tools

(placeholder)
`;
