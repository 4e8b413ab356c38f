import Testing
import BonsaiNN

@Suite struct PackageTests {
    @Test func engineIsReexported() {
        #expect(Tensor.ones([2]).sum().item == 2)
    }
}
