import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "test/unit/**/*.test.ts",
            "test/http/**/*.test.ts",
            "test/integration/**/*.test.ts",
            "test/lifecycle/**/*.test.ts",
          ],
          testTimeout: 30_000,
        },
      },
      {
        // Real tools (debootstrap, Ansible, QEMU, a registry): slow, run as root, one file at a time.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 1_200_000,
          hookTimeout: 1_200_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
