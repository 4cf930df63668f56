# A Debian package from CPack: `scripts/studio package` (or `cpack -G DEB` in a build folder).
# Its dependencies are computed from the executable by dpkg-shlibdeps, so they follow the Qt and
# C++ libraries it actually links.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME attention-studio)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The Attention Studio developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "see how each token of a sentence attends to every other one")
set(CPACK_PACKAGE_DESCRIPTION "Attention Studio makes self-attention visible: a heatmap, arcs and a grid of every
layer and head, and every stage of one head step by step, for an editable teaching
model and for GPT-2, BERT, Llama, Mistral and Qwen2 checkpoints, downloaded from the
Hugging Face Hub into its shared cache. Figures export as PNG, SVG and PDF.")
set(CPACK_PACKAGE_CONTACT "The Attention Studio developers <developers@attentionstudio.org>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://attentionstudio.org/")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # attention-studio_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Fonts for the figures the command line writes without a desktop.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "fonts-dejavu-core")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_INSTALL_DIRECTORY /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
