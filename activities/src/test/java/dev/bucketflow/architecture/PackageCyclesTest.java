package dev.bucketflow.architecture;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Packages by feature, and acyclic: no feature package of the activities (nor of the workflows and
 * core packages they share names with) depends, directly or through others, on itself. A class used
 * by several features lives in a package they can all reach.
 */
class PackageCyclesTest {

  static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.bucketflow");

  @Test
  void featurePackagesHaveNoCycles() {
    slices().matching("dev.bucketflow.(*)..").should().beFreeOfCycles().check(CLASSES);
  }
}
