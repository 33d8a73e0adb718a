/*
 * Test only: adds project entries named by the environment variable H2G_QP_EXTRA_IMAGES
 * ('|'-separated) to the current project, so that the h2g scripts see images that share a
 * file stem. The entries' server is the current image's; they are never opened.
 */

import qupath.lib.images.servers.ImageServerBuilder

String names = System.getenv('H2G_QP_EXTRA_IMAGES') ?: ''
def project = getProject()
def server = getCurrentServer()
def builder = [build: { server }, getURIs: { [] }, updateURIs: { m -> null }] as ImageServerBuilder.ServerBuilder
for (String n : names.split('\\|')) {
    if (n.isEmpty()) {
        continue
    }
    def e = project.addImage(builder)
    e.setImageName(n)
    println "h2g test entry: '${n}' id ${e.getID()}"
}
project.getImageList().each { println "h2g test project: '${it.getImageName()}' id ${it.getID()}" }
